package appliance

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/desk"
)

// demoActor signs the audit entries of the demo data: it is no account.
var demoActor = desk.Actor{UserID: math.MaxUint64, Name: "Demo data", Role: desk.RoleAdmin, Perms: desk.RoleDefaults(desk.RoleAdmin)}

// demoPerson is a site user of the demo help desk.
type demoPerson struct {
	username, name, public, role string
	number                       int
	availability                 string
}

var demoPeople = []demoPerson{
	{"maya", "Maya Patel", "Maya", desk.RoleTechManager, 1, desk.Available},
	{"leo", "Leo Martin", "Leo", desk.RoleChannelManager, 2, desk.Available},
	{"sam", "Sam Okafor", "Sam", desk.RoleTechnician, 3, desk.Available},
	{"ines", "Inès Duarte", "Inès", desk.RoleTechnician, 4, desk.Busy},
	{"kenji", "Kenji Watanabe", "Kenji", desk.RoleTechnician, 5, desk.Available},
	{"ruth", "Ruth Cohen", "Ruth", desk.RoleTechnician, 6, desk.Away},
}

// demoPassword is the known password of the i-th demo account (from 0).
func demoPassword(i int) string { return fmt.Sprintf("demo-password-%d", i+1) }

// seedDemo fills an empty desk with a small, realistic help desk (two
// channels, three teams, six technicians, four issue types and a public
// site on localhost) and prints each demo account with its password to out.
// It is for development only (applianced -dev -demo): the passwords are
// public. A desk that holds anything is left alone.
func seedDemo(ctx context.Context, a *auth.Service, d *desk.Service, out io.Writer) error {
	empty, err := demoEmpty(ctx, a, d)
	if err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	if !empty {
		fmt.Fprintln(out, "Demo data: the desk already holds data; nothing was added.")
		return nil
	}
	id := map[string]uint64{}
	for i, p := range demoPeople {
		u, err := a.CreateUser(ctx, auth.Site, auth.NewUser{Username: p.username, DisplayName: p.name, Password: demoPassword(i), Role: p.role})
		if err != nil {
			return fmt.Errorf("demo data: user %s: %w", p.username, err)
		}
		id[p.username] = u.ID
		t := desk.Technician{UserID: u.ID, PrivateName: p.name, PublicName: p.public, DisplayNumber: p.number, Availability: p.availability}
		if _, err := d.SaveTechnician(ctx, demoActor, t, p.role); err != nil {
			return fmt.Errorf("demo data: technician %s: %w", p.username, err)
		}
	}
	ids := func(names ...string) []uint64 {
		var out []uint64
		for _, n := range names {
			out = append(out, id[n])
		}
		return out
	}
	teams := map[string]uint64{}
	for _, t := range []desk.Team{
		{Name: "Front line", Members: ids("sam", "ines", "ruth"), Leads: ids("ruth"), Managers: ids("maya")},
		{Name: "Apple specialists", Members: ids("kenji", "leo"), Leads: ids("leo"), Managers: ids("maya")},
		{Name: "Escalations", Members: ids("ruth", "maya"), Leads: ids("maya")},
	} {
		saved, err := d.SaveTeam(ctx, demoActor, t)
		if err != nil {
			return fmt.Errorf("demo data: team %s: %w", t.Name, err)
		}
		teams[t.Name] = saved.ID
	}
	tier1, err := d.SaveChannel(ctx, demoActor, desk.Channel{
		Name: "Tier 1 — General", Description: "Everyday requests: sign-in, email, printers and the rest.",
		ExpiryMinutes: 60, Default: true, Teams: []uint64{teams["Front line"], teams["Escalations"]},
	})
	if err != nil {
		return fmt.Errorf("demo data: channel: %w", err)
	}
	mac, err := d.SaveChannel(ctx, demoActor, desk.Channel{
		Name: "Mac design", Description: "The design studio's Macs and creative software.",
		ExpiryMinutes: 120, Teams: []uint64{teams["Apple specialists"]}, Technicians: ids("kenji"), Managers: ids("leo"),
	})
	if err != nil {
		return fmt.Errorf("demo data: channel: %w", err)
	}
	for _, it := range []desk.IssueType{
		{Name: "Password or sign-in", CodeName: "sign-in", Channel: tier1.ID, Priority: 1},
		{Name: "Email and calendar", CodeName: "email", Channel: tier1.ID, Priority: 2},
		{Name: "Mac hardware", CodeName: "mac-hardware", Channel: mac.ID, Priority: 2},
		{Name: "Design software (Adobe, Figma)", CodeName: "design-software", Channel: mac.ID, Priority: 3},
	} {
		if _, err := d.SaveIssueType(ctx, demoActor, it); err != nil {
			return fmt.Errorf("demo data: issue type %s: %w", it.Name, err)
		}
	}
	site, err := d.SaveSite(ctx, demoActor, desk.Site{
		Name: "Help desk", Hostnames: []string{"localhost"},
		TechList: true, SessionKey: true, Survey: true, SOSCall: true, SurveyMode: desk.SurveyIssue,
		AskName: true, AskCompany: true, AskDescription: true,
		Custom:    []desk.CustomField{{Label: "Computer name", MaxLen: 64}},
		Agreement: "A technician will see your screen and may control it while you watch. You can end the session at any time.",
		Welcome:   "Our technicians answer from 8 in the morning to 6 in the evening.",
		Texts: map[string]desk.SiteTexts{
			"fr": {Welcome: "Nos techniciens répondent de 8 h à 18 h.", Agreement: "Un technicien verra votre écran et pourra le contrôler sous vos yeux. Vous pouvez arrêter la session à tout moment."},
			"es": {Welcome: "Nuestros técnicos responden de 8 a 18 h."},
			"de": {Welcome: "Unsere Techniker antworten von 8 bis 18 Uhr."},
		},
	})
	if err != nil {
		return fmt.Errorf("demo data: site: %w", err)
	}
	if _, err := d.AddProfile(ctx, demoActor, desk.Profile{Site: site.ID, Name: "Office Wi-Fi"}, demoProfile); err != nil {
		return fmt.Errorf("demo data: iOS profile: %w", err)
	}
	fmt.Fprintln(out, "Demo data: a small help desk was added (development only; these passwords are public):")
	for i, p := range demoPeople {
		fmt.Fprintf(out, "  %-6s %-16s %s\n", p.username, demoPassword(i), desk.RoleName(p.role))
	}
	fmt.Fprintln(out, "  The public site \"Help desk\" answers on the host name localhost.")
	return nil
}

// demoProfile is a public iOS profile of the demo site: one Wi-Fi
// network, no password.
var demoProfile = []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>PayloadContent</key>
	<array>
		<dict>
			<key>PayloadType</key><string>com.apple.wifi.managed</string>
			<key>PayloadIdentifier</key><string>com.example.helpdesk.wifi.network</string>
			<key>PayloadUUID</key><string>8D3F6C2A-5B1E-4F7D-9A0C-2E4B6D8F1A3C</string>
			<key>PayloadVersion</key><integer>1</integer>
			<key>SSID_STR</key><string>Example Guest</string>
			<key>EncryptionType</key><string>None</string>
		</dict>
	</array>
	<key>PayloadDisplayName</key><string>Office Wi-Fi</string>
	<key>PayloadIdentifier</key><string>com.example.helpdesk.wifi</string>
	<key>PayloadOrganization</key><string>Example help desk</string>
	<key>PayloadType</key><string>Configuration</string>
	<key>PayloadUUID</key><string>1C9E7A5B-3D2F-4A6E-8B0D-7F5E3C1A9B2D</string>
	<key>PayloadVersion</key><integer>1</integer>
</dict>
</plist>`)

// demoEmpty reports whether the desk holds nothing and no demo username is
// taken.
func demoEmpty(ctx context.Context, a *auth.Service, d *desk.Service) (bool, error) {
	chans, err := d.AllChannels(ctx)
	if err != nil {
		return false, err
	}
	teams, err := d.Teams(ctx)
	if err != nil {
		return false, err
	}
	techs, err := d.Technicians(ctx)
	if err != nil {
		return false, err
	}
	issues, err := d.IssueTypes(ctx)
	if err != nil {
		return false, err
	}
	sites, err := d.Sites(ctx)
	if err != nil {
		return false, err
	}
	if len(chans)+len(teams)+len(techs)+len(issues)+len(sites) > 0 {
		return false, nil
	}
	users, err := a.Users(ctx, auth.Site)
	if err != nil {
		return false, err
	}
	for _, u := range users {
		if slices.ContainsFunc(demoPeople, func(p demoPerson) bool { return p.username == u.Username }) {
			return false, nil
		}
	}
	return true, nil
}
