package rtc

import (
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// offerError is an error about an offer; it is ErrBadOffer for errors.Is
// and its text says what is wrong.
type offerError string

func (e offerError) Error() string        { return string(e) }
func (e offerError) Is(target error) bool { return target == ErrBadOffer }

// checkOffer checks, before any peer connection exists, that offer is a
// bounded SDP offer with a media section of kind ("application" for a
// data channel, "video").
func checkOffer(offer, kind string) error {
	if strings.TrimSpace(offer) == "" {
		return offerError("the offer is empty")
	}
	if len(offer) > MaxOffer {
		return offerError(fmt.Sprintf("the offer is larger than %d KiB", MaxOffer>>10))
	}
	var desc sdp.SessionDescription
	if err := desc.UnmarshalString(offer); err != nil {
		return offerError("the offer is not valid SDP")
	}
	if len(desc.MediaDescriptions) > maxMediaSections {
		return offerError(fmt.Sprintf("the offer has more than %d media sections", maxMediaSections))
	}
	// An offerer says a=setup:actpass (RFC 8842); an answer says active
	// or passive.
	if v, ok := desc.Attribute("setup"); ok && v != "actpass" {
		return offerError("the SDP is an answer, not an offer")
	}
	found := false
	for _, m := range desc.MediaDescriptions {
		if v, ok := m.Attribute("setup"); ok && v != "actpass" {
			return offerError("the SDP is an answer, not an offer")
		}
		if m.MediaName.Media == kind {
			found = true
		}
	}
	if !found {
		if kind == "application" {
			return offerError("the offer has no data channel")
		}
		return offerError("the offer has no " + kind)
	}
	return nil
}

// checkRoom checks a room name.
func checkRoom(room string) error {
	if room == "" || len(room) > maxRoomName {
		return fmt.Errorf("rtc: room name %q: empty or longer than %d bytes", room, maxRoomName)
	}
	return nil
}
