// Command issuer is MedInsights' token issuer: it registers users, logs them
// in, rotates refresh tokens, revokes sessions and publishes its keys. Run
// `issuer` without arguments for the commands.
package main

import (
	"context"
	"os"

	"github.com/medinsights/auth/issuer/internal/command"
)

func main() {
	os.Exit(command.Main(context.Background(), os.Args[1:], command.Env{Stdout: os.Stdout, Stderr: os.Stderr}))
}
