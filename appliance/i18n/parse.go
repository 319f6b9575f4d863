package i18n

import (
	"fmt"
	"strings"
)

// parse reads the catalog: records separated by blank lines, each line
// "<lang>: <text>", the English first; lines starting with # are
// comments. A language missing from a record is no error here (T falls
// back to English); the catalog test reports it.
func parse(src string) ([]*entry, error) {
	var (
		out  []*entry
		cur  *entry
		seen = map[string]bool{}
	)
	for n, line := range strings.Split(src, "\n") {
		line = strings.TrimRight(line, " \r")
		switch {
		case strings.HasPrefix(line, "#"):
			continue
		case line == "":
			cur = nil
			continue
		}
		lang, text, ok := strings.Cut(line, ": ")
		if !ok || !Valid(lang) {
			return nil, fmt.Errorf("i18n: catalog line %d: want \"<lang>: <text>\"", n+1)
		}
		if lang == English {
			if cur != nil {
				return nil, fmt.Errorf("i18n: catalog line %d: a second English line in one record", n+1)
			}
			if seen[text] {
				return nil, fmt.Errorf("i18n: catalog line %d: %q is in the catalog twice", n+1, text)
			}
			verbs, err := verbsOf(text)
			if err != nil {
				return nil, fmt.Errorf("i18n: catalog line %d: %w", n+1, err)
			}
			seen[text] = true
			cur = &entry{key: text, texts: map[string]string{}, verbs: verbs}
			if len(verbs) > 0 {
				cur.re = pattern(text)
			}
			out = append(out, cur)
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("i18n: catalog line %d: a translation before its English line", n+1)
		}
		if _, dup := cur.texts[lang]; dup {
			return nil, fmt.Errorf("i18n: catalog line %d: two %s lines in one record", n+1, lang)
		}
		cur.texts[lang] = text
	}
	return out, nil
}
