package desk

import (
	"errors"
	"slices"
)

// Roles of site users. The role is stored on the auth user; the granular
// permissions on top of it are stored on the technician's profile.
const (
	RoleTechnician     = "technician"
	RoleChannelManager = "channel-manager"
	RoleTechManager    = "technician-manager"
	RoleAdmin          = "admin"
)

// Roles lists the site roles from least to most powerful.
var Roles = []string{RoleTechnician, RoleChannelManager, RoleTechManager, RoleAdmin}

// RoleName is the label people see for a role.
func RoleName(role string) string {
	switch role {
	case RoleTechnician:
		return "Technician"
	case RoleChannelManager:
		return "Channel manager"
	case RoleTechManager:
		return "Technician manager"
	case RoleAdmin:
		return "Administrator"
	}
	return role
}

// A Perm is a granular permission a technician has on top of its role.
type Perm string

// The granular permissions.
const (
	PermStartSessions   Perm = "start-sessions"
	PermTakeFromQueues  Perm = "take-from-queues"
	PermSessionKeys     Perm = "session-keys"
	PermSupportLinks    Perm = "support-links"
	PermSOSLinks        Perm = "sos-links"
	PermTransferTech    Perm = "transfer-technician"
	PermTransferChannel Perm = "transfer-channel"
	PermInvite          Perm = "invite"
	PermControl         Perm = "remote-control"
	PermFileTransfer    Perm = "file-transfer"
	PermIOSAccessKeys   Perm = "ios-access-keys"
	PermAnnouncements   Perm = "announcements"
	PermReports         Perm = "reports"
)

// Perms lists every permission in display order, with its label.
var Perms = []struct {
	Perm  Perm
	Label string
}{
	{PermStartSessions, "Start sessions"},
	{PermTakeFromQueues, "Take sessions from channel queues"},
	{PermSessionKeys, "Generate session keys"},
	{PermSupportLinks, "Generate support links"},
	{PermSOSLinks, "Manage SOS Call links"},
	{PermTransferTech, "Transfer to a technician"},
	{PermTransferChannel, "Transfer to a channel"},
	{PermInvite, "Invite collaborators"},
	{PermControl, "Remote control (otherwise view only)"},
	{PermFileTransfer, "File transfer"},
	{PermIOSAccessKeys, "Send iOS access keys"},
	{PermAnnouncements, "Manage announcements"},
	{PermReports, "View reports"},
}

// RoleDefaults are the permissions a role starts with.
func RoleDefaults(role string) map[Perm]bool {
	base := []Perm{PermStartSessions, PermTakeFromQueues, PermSessionKeys, PermSupportLinks,
		PermTransferTech, PermTransferChannel, PermInvite, PermControl, PermFileTransfer, PermIOSAccessKeys}
	switch role {
	case RoleChannelManager:
		base = append(base, PermSOSLinks, PermAnnouncements, PermReports)
	case RoleTechManager, RoleAdmin:
		base = append(base, PermSOSLinks, PermAnnouncements, PermReports)
	}
	m := make(map[Perm]bool, len(base))
	for _, p := range base {
		m[p] = true
	}
	return m
}

// An Action is something a person asks the desk to do. [Authorize] decides
// every action for every route.
type Action string

// The actions.
const (
	ActViewAdmin       Action = "view-admin"        // open /login administration at all
	ActViewChannel     Action = "view-channel"      // see a channel's configuration
	ActEditChannel     Action = "edit-channel"      // change a channel
	ActCreateChannel   Action = "create-channel"    // create a channel
	ActDeleteChannel   Action = "delete-channel"    // delete a channel
	ActManageIssues    Action = "manage-issues"     // issue types routing to a channel
	ActManageTeams     Action = "manage-teams"      // teams
	ActManageUsers     Action = "manage-users"      // technicians, roles, permissions
	ActManageSites     Action = "manage-sites"      // public sites
	ActViewAudit       Action = "view-audit"        // the audit log
	ActSupervise       Action = "supervise"         // watch any session of a channel
	ActTakeFromChannel Action = "take-from-channel" // take an unassigned session of a channel
	ActWorkSession     Action = "work-session"      // work a session assigned to oneself
	ActUsePerm         Action = "use-permission"    // use a granular permission (Scope.Perm)
)

// Actor is who asks: a signed-in site user with its role, permissions and
// the channels it serves and manages.
type Actor struct {
	UserID uint64
	Name   string // the name colleagues see (the private name)
	// PublicName is the name customers see: in the chat, in the support
	// app's questions and on the public site.
	PublicName string
	Role       string
	Perms      map[Perm]bool
	Serves     []uint64 // channels the actor works in
	Manages    []uint64 // channels the actor manages (channel managers)
}

// Public is the name customers see: PublicName, or Name when the actor has
// no profile.
func (a Actor) Public() string {
	if a.PublicName != "" {
		return a.PublicName
	}
	return a.Name
}

// Scope is what an action applies to. Zero fields do not apply.
type Scope struct {
	Channel uint64 // the channel concerned
	Owner   uint64 // the technician a session is assigned to
	Perm    Perm   // for ActUsePerm
}

// ErrForbidden is returned for an action the actor may not take.
var ErrForbidden = errors.New("not allowed")

// SystemID is the user id of the box acting by itself (accounts created by
// single sign-on); no account has it, since ids come from bbolt sequences.
const SystemID = ^uint64(0)

// SystemActor is the box acting as an administrator on a rule an
// administrator set up (just-in-time accounts of single sign-on); name
// says which rule, for the audit log.
func SystemActor(name string) Actor { return Actor{UserID: SystemID, Name: name, Role: RoleAdmin} }

// Authorize is the one place that decides whether actor may take act on
// scope. Every route calls it (directly or through a service method), and
// the server enforces it whatever the page showed.
func Authorize(a Actor, act Action, s Scope) error {
	if allowed(a, act, s) {
		return nil
	}
	return ErrForbidden
}

// Can reports whether Authorize would allow the action; pages use it to
// hide what a person cannot do.
func Can(a Actor, act Action, s Scope) bool { return allowed(a, act, s) }

func allowed(a Actor, act Action, s Scope) bool {
	if a.UserID == 0 {
		return false
	}
	admin := a.Role == RoleAdmin
	techMgr := a.Role == RoleTechManager
	manages := a.Role == RoleChannelManager && s.Channel != 0 && slices.Contains(a.Manages, s.Channel)
	switch act {
	case ActViewAdmin:
		return admin || techMgr || a.Role == RoleChannelManager
	case ActViewChannel, ActEditChannel, ActManageIssues:
		return admin || techMgr || manages
	case ActCreateChannel, ActDeleteChannel:
		return admin || techMgr
	case ActManageTeams, ActManageUsers, ActManageSites, ActViewAudit:
		return admin
	case ActSupervise:
		return admin || techMgr || manages
	case ActTakeFromChannel:
		return a.Perms[PermTakeFromQueues] && s.Channel != 0 && slices.Contains(a.Serves, s.Channel)
	case ActWorkSession:
		return s.Owner == a.UserID || admin || techMgr || manages
	case ActUsePerm:
		return a.Perms[s.Perm]
	}
	return false
}
