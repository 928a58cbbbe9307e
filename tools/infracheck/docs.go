package main

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// docPages are the Markdown pages whose links are checked: the READMEs and
// every page under docs/.
func docPages(cfg *config) ([]string, error) {
	pages := []string{"README.md", "kong-plugin/README.md"}
	found, err := filepath.Glob(cfg.path("docs/*.md"))
	if err != nil {
		return nil, err
	}
	for _, p := range found {
		pages = append(pages, cfg.rel(p))
	}
	return pages, nil
}

var (
	// markdownLinkRE finds inline links and images: [text](target).
	markdownLinkRE = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// fenceRE finds fenced code blocks, whose brackets are not links.
	fenceRE   = regexp.MustCompile("(?ms)^```.*?^```")
	headingRE = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)
)

// checkDocs checks every relative link of the documentation: its file or
// directory exists in the repository, and its #fragment, if any, is a
// heading of the page it points to (GitHub's anchors). And the README, the
// newcomer's entry point, links every page under docs/.
func checkDocs(cfg *config, f *findings) error {
	pages, err := docPages(cfg)
	if err != nil {
		return err
	}
	for _, page := range pages {
		src, err := cfg.read(page)
		if err != nil {
			f.add(page, "%v", err)
			continue
		}
		links := markdownLinkRE.FindAllStringSubmatch(fenceRE.ReplaceAllString(string(src), ""), -1)
		for _, m := range links {
			if msg := checkLink(cfg, page, m[1]); msg != "" {
				f.add(page, "link %s: %s", m[1], msg)
			}
		}
		if page != "README.md" {
			continue
		}
		for _, doc := range pages {
			if strings.HasPrefix(doc, "docs/") && !slices.ContainsFunc(links, func(m []string) bool { return m[1] == doc }) {
				f.add(page, "its Documentation list does not link %s", doc)
			}
		}
	}
	return nil
}

// checkLink returns what is wrong with one link of page, or "".
func checkLink(cfg *config, page, link string) string {
	if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
		return ""
	}
	target, fragment, _ := strings.Cut(link, "#")
	if target == "" {
		target = page
	} else {
		target = path.Join(path.Dir(page), target)
	}
	if strings.HasPrefix(target, "../") {
		return "points outside the repository"
	}
	if _, err := os.Stat(cfg.path(target)); err != nil {
		return fmt.Sprintf("%s does not exist", target)
	}
	if fragment == "" {
		return ""
	}
	if !strings.HasSuffix(target, ".md") {
		return fmt.Sprintf("a #fragment on %s, which is not a Markdown page", target)
	}
	src, err := cfg.read(target)
	if err != nil {
		return err.Error()
	}
	for _, a := range anchors(string(src)) {
		if a == fragment {
			return ""
		}
	}
	return fmt.Sprintf("%s has no heading #%s", target, fragment)
}

// anchors returns the anchors GitHub gives a page's headings: lower case,
// spaces as '-', punctuation other than '-' and '_' dropped, and -1, -2, ...
// after a repeated one.
func anchors(src string) []string {
	seen := map[string]int{}
	var out []string
	for _, m := range headingRE.FindAllStringSubmatch(fenceRE.ReplaceAllString(src, ""), -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			out = append(out, fmt.Sprintf("%s-%d", a, n))
		} else {
			out = append(out, a)
		}
		seen[a]++
	}
	return out
}
