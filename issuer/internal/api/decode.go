package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"

	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/identifier"
)

// maxBodyBytes bounds a request body; larger ones get 413.
const maxBodyBytes = 64 << 10

// newValidator is the one configured validator: JSON field names in its
// errors, and the project's own tags.
func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	_ = v.RegisterValidation("username", func(fl validator.FieldLevel) bool { return auth.ValidUsername(fl.Field().String()) })
	// plaintext: valid UTF-8 without control, zero-width, bidirectional or
	// other invisible characters (auth.PlainText), for every identifier and
	// name a user sends.
	_ = v.RegisterValidation("plaintext", func(fl validator.FieldLevel) bool { return auth.PlainText(fl.Field().String()) })
	return v
}

// decodeJSON reads one JSON object into dst and validates it. It refuses,
// each with its own problem: a content type other than application/json
// (415), a body over 64 KiB (413), malformed JSON or anything after the
// object (400 invalid_json), unknown fields and invalid values (400
// validation_failed, with errors by field).
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return newProblem(http.StatusUnsupportedMediaType, "unsupported_media_type", "The request body must be application/json.")
	}
	if r.ContentLength > maxBodyBytes {
		return tooLarge()
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge()
		}
		return newProblem(http.StatusBadRequest, "invalid_json", "The request body must hold exactly one JSON object.")
	}
	return s.validate(dst)
}

func tooLarge() *Problem {
	return newProblem(http.StatusRequestEntityTooLarge, "request_too_large", fmt.Sprintf("The request body must be at most %d bytes.", maxBodyBytes))
}

func decodeProblem(err error) *Problem {
	var (
		mbe    *http.MaxBytesError
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge()
	case errors.Is(err, io.EOF):
		return newProblem(http.StatusBadRequest, "invalid_json", "The request body is empty.")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return newProblem(http.StatusBadRequest, "invalid_json", "The request body is not valid JSON.")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return newProblem(http.StatusBadRequest, "invalid_json", "The request body must be a JSON object.")
		}
		return fieldProblem(typ.Field, "must be a "+jsonKind(typ.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no error type for this; the message is stable.
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fieldProblem(name, "is not allowed")
	}
	return newProblem(http.StatusBadRequest, "invalid_json", "The request body is not valid JSON.")
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice:
		return "list"
	}
	return "value of another type"
}

func fieldProblem(field, msg string) *Problem {
	p := newProblem(http.StatusBadRequest, "validation_failed", "The request body has invalid fields.")
	p.Errors = map[string][]string{field: {msg}}
	return p
}

// validate runs the validator and words its findings for people.
func (s *Server) validate(v any) error {
	err := s.validator.Struct(v)
	var verrs validator.ValidationErrors
	if err == nil {
		return nil
	}
	if !errors.As(err, &verrs) {
		return fmt.Errorf("validate request: %w", err)
	}
	p := newProblem(http.StatusBadRequest, "validation_failed", "The request body has invalid fields.")
	p.Errors = map[string][]string{}
	for _, fe := range verrs {
		p.Errors[fe.Field()] = append(p.Errors[fe.Field()], message(fe))
	}
	return p
}

func message(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "min":
		return "must be at least " + fe.Param() + " characters long"
	case "max":
		return "must be at most " + fe.Param() + " characters long"
	case "email":
		return "must be an e-mail address"
	case "username":
		return "must be 3 to 150 characters: letters, digits and @ . + - _"
	case "plaintext":
		return identifier.ErrInvisible.Error()
	case "oneof":
		return "must be one of: " + fe.Param()
	}
	return "is invalid"
}
