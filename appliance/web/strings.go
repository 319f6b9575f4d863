package web

import (
	"encoding/json"
	"regexp"
	"sort"

	"github.com/switchboardhq/switchboard/appliance/i18n"
)

// scriptFiles are the assets that translate with the page's table: their
// t("…") and tr("…") calls name the catalog keys they use.
var scriptFiles = []string{"portal.js", "media.js"}

var scriptCallRe = regexp.MustCompile(`\btr?\("((?:[^"\\]|\\.)*)"\)`)

// ScriptKeys returns the catalog keys the public site's scripts use, sorted.
func ScriptKeys() []string {
	seen := map[string]bool{}
	for _, name := range scriptFiles {
		a := assets[name]
		if a == nil {
			continue
		}
		for _, m := range scriptCallRe.FindAllSubmatch(a.body, -1) {
			seen[string(m[1])] = true
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// scriptTables are the scripts' strings in each language but English, as
// the JSON a page carries in data-i18n.
var scriptTables = func() map[string]string {
	keys := ScriptKeys()
	out := map[string]string{}
	for _, lang := range i18n.Langs[1:] {
		b, _ := json.Marshal(i18n.Table(lang, keys))
		out[lang] = string(b)
	}
	return out
}()

// ScriptStrings is the JSON table of the scripts' strings in lang ("" for
// English, where the scripts keep their own words).
func ScriptStrings(lang string) string { return scriptTables[lang] }
