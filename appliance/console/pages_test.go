package console

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/appliance/desk"
)

func TestSessionFlowOverHTTP(t *testing.T) {
	e := newEnv(t)
	ann := e.tech("ann", "Ann", desk.RoleTechnician)
	bob := e.tech("bob", "Bob", desk.RoleTechnician)
	e.channels([]uint64{ann.id, bob.id}, nil)
	ss := e.sos(e.tier1.ID, "Cleo")

	if _, body := ann.get("/console"); !strings.Contains(body, "Cleo") || !strings.Contains(body, `formaction="/console/sessions/`) {
		t.Fatalf("the queue page lacks the waiting customer or its Accept button:\n%s", body)
	}
	resp, _ := ann.post("/console/sessions/"+itoa(ss.ID)+"/accept", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != sessionPath(ss.ID) {
		t.Fatalf("accept: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A second click is harmless; someone else's click is a clear conflict.
	if resp, _ := ann.post("/console/sessions/"+itoa(ss.ID)+"/accept", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("accepting one's own session again: %d", resp.StatusCode)
	}
	resp, body := bob.post("/console/sessions/"+itoa(ss.ID)+"/accept", nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "already accepted by someone else (Ann)") {
		t.Fatalf("bob accepting ann's session: %d\n%s", resp.StatusCode, body)
	}

	code, msg := ann.fetch("/console/sessions/"+itoa(ss.ID)+"/chat", url.Values{"text": {"Hello <b>Cleo</b>"}})
	if code != http.StatusCreated || msg["text"] != "Hello <b>Cleo</b>" {
		t.Fatalf("chat: %d %v", code, msg)
	}
	if code, _ := ann.fetch("/console/sessions/"+itoa(ss.ID)+"/typing", nil); code != http.StatusNoContent {
		t.Fatalf("typing: %d", code)
	}
	if code, _ := bob.fetch("/console/sessions/"+itoa(ss.ID)+"/typing", nil); code != http.StatusConflict {
		t.Fatalf("typing in a session bob is not in: %d", code)
	}
	resp, _ = ann.post("/console/sessions/"+itoa(ss.ID)+"/invite", url.Values{"user": {itoa(bob.id)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("invite: %d", resp.StatusCode)
	}
	if _, body := bob.get(sessionPath(ss.ID)); !strings.Contains(body, "Hello &lt;b&gt;Cleo&lt;/b&gt;") || !strings.Contains(body, `id="leave"`) {
		t.Fatalf("the collaborator's session page:\n%s", body)
	}
	if resp, _ := bob.post("/console/sessions/"+itoa(ss.ID)+"/leave", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console?done=left" {
		t.Fatalf("leave: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = bob.post("/console/sessions/"+itoa(ss.ID)+"/leave", nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "not a collaborator") {
		t.Fatalf("leaving twice: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = ann.post("/console/sessions/"+itoa(ss.ID)+"/transfer", url.Values{"to": {"technician-" + itoa(bob.id)}, "note": {"over to you"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console?done=transferred" {
		t.Fatalf("transfer: %d", resp.StatusCode)
	}
	// Ann no longer reaches it; Bob does and closes it.
	code, body = ann.get(sessionPath(ss.ID))
	if code != http.StatusForbidden || !strings.Contains(body, "it was transferred") {
		t.Fatalf("ann after the transfer: %d", code)
	}
	bob.post("/console/sessions/"+itoa(ss.ID)+"/accept", nil)
	if resp, _ := bob.post("/console/sessions/"+itoa(ss.ID)+"/close", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("close: %d", resp.StatusCode)
	}
	// Closed: the session page sends both to the history, where both see
	// the transcript and the trail.
	for _, tc := range []*tech{ann, bob} {
		resp, _ := tc.client.Get(e.srv.URL + sessionPath(ss.ID))
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != recordPath(ss.ID) {
			t.Fatalf("%s: closed session page: %d %s", tc.name, resp.StatusCode, resp.Header.Get("Location"))
		}
		code, body := tc.get(recordPath(ss.ID))
		for _, want := range []string{"Hello &lt;b&gt;Cleo&lt;/b&gt;", "Ann transferred the session to Bob: over to you", "Bob closed the session", "Ann invited Bob"} {
			if code != 200 || !strings.Contains(body, want) {
				t.Fatalf("%s: record lacks %q (%d):\n%s", tc.name, want, code, body)
			}
		}
	}
}

func TestErrorsPeopleSee(t *testing.T) {
	e := newEnv(t)
	ann := e.tech("ann", "Ann", desk.RoleTechnician)
	bob := e.tech("bob", "Bob", desk.RoleTechnician)
	e.channels([]uint64{ann.id}, []uint64{bob.id})
	mine := e.customer(ann.id, desk.Customer{Name: "Cleo"})
	theirs := e.sos(e.tier2.ID, "Tina")
	ann.post("/console/sessions/"+itoa(mine.ID)+"/accept", nil)
	chat := "/console/sessions/" + itoa(mine.ID) + "/chat"
	long := strings.Repeat("é", 5000) // 10 KB

	cases := []struct {
		name   string
		who    *tech
		method string
		path   string
		form   url.Values
		code   int
		says   string
	}{
		{"someone else's personal session", bob, "POST", "/console/sessions/" + itoa(mine.ID) + "/accept", nil, 403, "not allowed"},
		{"a channel ann does not serve", ann, "POST", "/console/sessions/" + itoa(theirs.ID) + "/accept", nil, 403, "not allowed"},
		{"peeking at it", ann, "GET", "/console/sessions/" + itoa(theirs.ID), nil, 403, "not allowed"},
		{"a session that never was", ann, "POST", "/console/sessions/999/accept", nil, 404, "does not exist"},
		{"a path that is no id", ann, "GET", "/console/sessions/abc", nil, 404, "does not exist"},
		{"an empty message", ann, "POST", chat, url.Values{"text": {"   "}}, 400, "Type a message first."},
		{"a 10 KB message", ann, "POST", chat, url.Values{"text": {long}}, 400, "Keep messages under 2000 characters"},
		{"no transfer target", ann, "POST", "/console/sessions/" + itoa(mine.ID) + "/transfer", url.Values{"to": {"nowhere"}, "note": {"kept note"}}, 400, "Choose a technician or a channel"},
		{"a long transfer note", ann, "POST", "/console/sessions/" + itoa(mine.ID) + "/transfer", url.Values{"to": {"channel-" + itoa(e.tier2.ID)}, "note": {strings.Repeat("n", 1001)}}, 400, "Keep the note under 1000 characters."},
		{"inviting nobody", ann, "POST", "/console/sessions/" + itoa(mine.ID) + "/invite", url.Values{"user": {"999"}}, 400, "That technician does not exist."},
		{"a wrong SOS code", ann, "POST", "/console/claim", url.Values{"code": {"123 456 789"}}, 400, "No waiting customer has this code"},
		{"a code that is no code", ann, "POST", "/console/claim", url.Values{"code": {"12345"}}, 400, "Enter the 9 digits"},
		{"a lifetime of days", ann, "POST", "/console/keys", url.Values{"lifetime": {"9000"}}, 400, "Choose a lifetime from 1 minute to 24 hours."},
		{"an SOS link without the permission", ann, "POST", "/console/sos", url.Values{"channel": {itoa(e.tier1.ID)}, "label": {"x"}}, 403, "not allowed"},
		{"a support link for a channel ann does not serve", ann, "POST", "/console/links", url.Values{"queue": {"channel-" + itoa(e.tier2.ID)}}, 403, "not allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var code int
			var body string
			if tc.method == "GET" {
				code, body = tc.who.get(tc.path)
			} else {
				resp, b := tc.who.post(tc.path, tc.form)
				code, body = resp.StatusCode, b
			}
			if code != tc.code || !strings.Contains(body, tc.says) {
				t.Fatalf("status %d, want %d with %q:\n%s", code, tc.code, tc.says, body)
			}
			// What was typed stays in the form.
			for _, k := range []string{"note", "code"} {
				if v := tc.form.Get(k); v != "" && code == 400 && !strings.Contains(body, v) {
					t.Fatalf("the form lost %s %q", k, v)
				}
			}
		})
	}
	// Scripts get the same messages as JSON, next to their field.
	code, out := ann.fetch(chat, url.Values{"text": {long}})
	if fields, _ := out["fields"].(map[string]any); code != 400 || !strings.Contains(fields["text"].(string), "under 2000") {
		t.Fatalf("chat error as JSON: %d %v", code, out)
	}
	code, out = ann.fetch(chat, url.Values{"text": {"bad \xff byte"}})
	if code != 400 || !strings.Contains(out["error"].(string), "not valid UTF-8") {
		t.Fatalf("invalid UTF-8 as JSON: %d %v", code, out)
	}
	e.desk.Close(ctx, ann.actor(), mine.ID)
	code, out = ann.fetch(chat, url.Values{"text": {"too late"}})
	if code != 409 || !strings.Contains(out["error"].(string), "has ended") {
		t.Fatalf("chat into a closed session: %d %v", code, out)
	}
	// Signed out: forms get 401, pages go to sign in.
	anon := *ann.client
	anon.Jar = nil
	resp, err := anon.Get(e.srv.URL + "/console")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fconsole" {
		t.Fatalf("signed out /console: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// hostile are texts a customer or a colleague might type.
var hostile = []string{`<script>alert(1)</script>`, `{{.}}`, `${7*7}`, `"><img src=x onerror=alert(2)>`}

func TestTypedTextIsShownLiterally(t *testing.T) {
	e := newEnv(t)
	ann := e.tech("ann", "Ann", desk.RoleTechnician)
	e.channels([]uint64{ann.id}, nil)
	c := desk.Customer{Name: hostile[0], Company: hostile[1], Description: hostile[2] + "\n" + strings.Repeat("x", 1900),
		Custom: []desk.Answer{{Label: "Asset <tag>", Value: hostile[3] + " bad\xffbyte"}}}
	ss := e.customer(ann.id, c)
	ann.post("/console/sessions/"+itoa(ss.ID)+"/accept", nil)
	for _, h := range hostile {
		if _, err := e.desk.CustomerSays(ctx, ss, h); err != nil {
			t.Fatal(err)
		}
	}
	check := func(where, body string, wants ...string) {
		t.Helper()
		if !utf8.ValidString(body) {
			t.Errorf("%s: the page is not valid UTF-8", where)
		}
		for _, bad := range []string{"<script>alert", "<img src=x", "onerror=alert(2)>"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: %q reached the page as markup", where, bad)
			}
		}
		if wants == nil {
			wants = []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "{{.}}", "${7*7}"}
		}
		for _, want := range wants {
			if !strings.Contains(body, want) {
				t.Errorf("%s: %q is not shown literally", where, want)
			}
		}
	}
	_, page := ann.get("/console")
	check("queue page", page)
	_, page = ann.get(sessionPath(ss.ID))
	check("session page", page)
	if !strings.Contains(page, "Asset &lt;tag&gt;") {
		t.Error("the custom field label is not escaped")
	}
	_, state := ann.get("/console/state")
	if strings.Contains(state, "<script>") || !strings.Contains(state, `\u003cscript\u003e`) {
		t.Errorf("state JSON: %s", state)
	}
	e.desk.Close(ctx, ann.actor(), ss.ID)
	_, page = ann.get(recordPath(ss.ID))
	check("history record", page)
	_, page = ann.get("/console/history?customer=" + url.QueryEscape("<script>"))
	check("history search", page, "&lt;script&gt;alert(1)&lt;/script&gt;", "{{.}}")
}

func TestTools(t *testing.T) {
	e := newEnv(t)
	ann := e.tech("ann", "Ann", desk.RoleTechnician)
	e.channels([]uint64{ann.id}, nil)

	resp, body := ann.post("/console/keys", url.Values{"lifetime": {"30"}})
	m := regexp.MustCompile(`id="key-digits">(\d{3}) (\d{3}) (\d{3})<`).FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil || !strings.Contains(body, "/?key="+m[1]+m[2]+m[3]) {
		t.Fatalf("session key: %d\n%s", resp.StatusCode, body)
	}
	ss, _, err := e.desk.StartWithKey(ctx, e.site, m[1]+m[2]+m[3], desk.Customer{Name: "Kim"}, "192.0.2.1")
	if err != nil || ss.Queue != (desk.Queue{Kind: desk.QueueTechnician, ID: ann.id}) {
		t.Fatalf("the key leads elsewhere: %+v %v", ss, err)
	}

	resp, body = ann.post("/console/links", url.Values{"queue": {"channel-" + itoa(e.tier1.ID)}})
	lm := regexp.MustCompile(`/l/([A-Za-z0-9_-]+)<`).FindStringSubmatch(body)
	if resp.StatusCode != 200 || lm == nil {
		t.Fatalf("support link: %d\n%s", resp.StatusCode, body)
	}
	if got, _, err := e.desk.RedeemLink(ctx, desk.Site{}, lm[1], ""); err != nil || got.Status != desk.Ready || got.Queue.ID != e.tier1.ID {
		t.Fatalf("redeeming the link: %+v %v", got, err)
	}

	resp, _ = ann.post("/console/availability", url.Values{"availability": {"busy"}})
	if tech, _ := e.desk.Technician(ctx, ann.id); resp.StatusCode != http.StatusSeeOther || tech.Availability != desk.Busy {
		t.Fatalf("availability: %d %s", resp.StatusCode, tech.Availability)
	}
	resp, body = ann.post("/console/availability", url.Values{"availability": {"asleep"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "Choose available, busy or away.") {
		t.Fatalf("a made-up availability: %d", resp.StatusCode)
	}

	cs, _, codeDigits, err := e.desk.StartCode(ctx, e.site, desk.Customer{Name: "Gus"})
	if err != nil {
		t.Fatal(err)
	}
	resp, _ = ann.post("/console/claim", url.Values{"code": {codeDigits[:3] + " " + codeDigits[3:]}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != sessionPath(cs.ID) {
		t.Fatalf("claim: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	// SOS Call links need the permission: a channel manager has it.
	mgr := e.tech("mgr", "Mia", desk.RoleChannelManager)
	ch := e.tier1
	ch.Managers = []uint64{mgr.id}
	e.desk.SaveChannel(ctx, e.root, ch)
	if _, body := ann.get("/console"); strings.Contains(body, "SOS Call links") {
		t.Fatal("ann is offered SOS Call links without the permission")
	}
	resp, body = mgr.post("/console/sos", url.Values{"channel": {itoa(e.tier1.ID)}, "label": {"Front desk"}})
	sm := regexp.MustCompile(`/sos/([A-Za-z0-9_-]+)<`).FindStringSubmatch(body)
	if resp.StatusCode != 200 || sm == nil || !strings.Contains(body, "Front desk") {
		t.Fatalf("SOS link: %d\n%s", resp.StatusCode, body)
	}
	links, _ := e.desk.SOSLinks(ctx, mgr.actor())
	id := itoa(links[0].ID)
	for _, step := range []struct{ action, done string }{{"pause", "sos-paused"}, {"resume", "sos-resumed"}, {"delete", "sos-deleted"}} {
		resp, _ := mgr.post("/console/sos/"+id+"/"+step.action, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console?done="+step.done {
			t.Fatalf("%s: %d %s", step.action, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if _, _, err := e.desk.StartSOS(ctx, e.site, sm[1], desk.Customer{Name: "Late"}); err == nil {
		t.Fatal("a deleted SOS link still works")
	}
	if resp, _ := ann.post("/console/sos/"+id+"/pause", nil); resp.StatusCode != 403 {
		t.Fatalf("ann pausing a link without the permission: %d", resp.StatusCode)
	}
	if resp, _ := ann.post("/console/next", nil); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/sessions/") {
		t.Fatalf("next: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestHistoryPages(t *testing.T) {
	e := newEnv(t)
	ann := e.tech("ann", "Ann", desk.RoleTechnician)
	bob := e.tech("bob", "Bob", desk.RoleTechnician)
	boss := e.tech("boss", "Boss", desk.RoleTechManager)
	e.channels([]uint64{ann.id}, []uint64{bob.id})
	for _, s := range []struct {
		tc      *tech
		name, c string
	}{{ann, "Ada", "Acme"}, {bob, "Ben", "Globex"}} {
		ss := e.customer(s.tc.id, desk.Customer{Name: s.name, Company: s.c})
		e.desk.Accept(ctx, s.tc.actor(), ss.ID)
		e.desk.Say(ctx, s.tc.actor(), ss.ID, "hi "+s.name)
		e.desk.Close(ctx, s.tc.actor(), ss.ID)
	}
	open := e.customer(ann.id, desk.Customer{Name: "Still open"})
	_, body := ann.get("/console/history")
	if !strings.Contains(body, "Ada") || strings.Contains(body, "Ben") || strings.Contains(body, "Still open") {
		t.Fatalf("ann's history:\n%s", body)
	}
	_, body = boss.get("/console/history?customer=globex")
	if !strings.Contains(body, "Ben") || strings.Contains(body, "Ada") {
		t.Fatalf("search by company:\n%s", body)
	}
	_, body = boss.get("/console/history?technician=" + itoa(ann.id))
	if !strings.Contains(body, "Ada") || strings.Contains(body, "Ben") {
		t.Fatalf("search by technician:\n%s", body)
	}
	code, body := boss.get("/console/history?from=2020-13-01")
	if code != 400 || !strings.Contains(body, "Use a date like") || !strings.Contains(body, "2020-13-01") {
		t.Fatalf("a bad date: %d", code)
	}
	_, body = boss.get("/console/history?from=2999-01-01")
	if strings.Contains(body, "Ada") || !strings.Contains(body, "No finished session matches") {
		t.Fatalf("a future date range:\n%s", body)
	}
	m := regexp.MustCompile(`href="/console/history/(\d+)"[^>]*>Ben<`).FindStringSubmatch(func() string { _, b := boss.get("/console/history"); return b }())
	if m == nil {
		t.Fatal("no link to Ben's session")
	}
	if code, _ := ann.get("/console/history/" + m[1]); code != 403 {
		t.Fatalf("ann reading bob's session: %d", code)
	}
	if code, body := boss.get("/console/history/" + m[1]); code != 200 || !strings.Contains(body, "hi Ben") {
		t.Fatalf("the supervisor reading it: %d", code)
	}
	resp, _ := ann.client.Get(e.srv.URL + recordPath(open.ID))
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != sessionPath(open.ID) {
		t.Fatalf("an open session as history: %d", resp.StatusCode)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
