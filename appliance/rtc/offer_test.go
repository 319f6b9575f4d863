package rtc

import (
	"errors"
	"strings"
	"testing"
)

// chromeOffer is the shape of a Chromium data-channel offer.
const chromeOffer = "v=0\r\n" +
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"t=0 0\r\n" +
	"a=group:BUNDLE 0\r\n" +
	"a=msid-semantic: WMS\r\n" +
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=candidate:1 1 udp 2113937151 4f3b9c1e-0c6f-4a55-9d29-2b3d7c8a1f00.local 54321 typ host generation 0 network-cost 999\r\n" +
	"a=ice-ufrag:abcd\r\n" +
	"a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" +
	"a=setup:actpass\r\n" +
	"a=mid:0\r\n" +
	"a=sctp-port:5000\r\n" +
	"a=max-message-size:262144\r\n"

func TestCheckOffer(t *testing.T) {
	for _, tc := range []struct {
		name, sdp, kind, want string
	}{
		{"data channel", chromeOffer, "application", ""},
		{"no video", chromeOffer, "video", "the offer has no video"},
		{"answer", strings.Replace(chromeOffer, "actpass", "passive", 1), "application", "an answer, not an offer"},
		{"session-level setup", strings.Replace(chromeOffer, "t=0 0\r\n", "t=0 0\r\na=setup:active\r\n", 1), "application", "an answer, not an offer"},
		{"not SDP", "GET / HTTP/1.1\r\n", "application", "not valid SDP"},
		{"blank", " \r\n", "application", "the offer is empty"},
		{"many sections", chromeOffer + strings.Repeat("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", 8), "application", "more than 8 media sections"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkOffer(tc.sdp, tc.kind)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBadOffer) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrBadOffer saying %q", err, tc.want)
			}
		})
	}
}

// FuzzCheckOffer: any bytes are refused or accepted without a panic, and
// only bounded offers are accepted.
func FuzzCheckOffer(f *testing.F) {
	f.Add(chromeOffer, "application")
	f.Add(strings.Replace(chromeOffer, "application 9 UDP/DTLS/SCTP webrtc-datachannel", "video 9 UDP/TLS/RTP/SAVPF 96", 1), "video")
	f.Add("v=0\r\n", "video")
	f.Add("", "application")
	f.Fuzz(func(t *testing.T, sdp, kind string) {
		err := checkOffer(sdp, kind)
		if err == nil && len(sdp) > MaxOffer {
			t.Fatalf("accepted an offer of %d bytes", len(sdp))
		}
		if err != nil && !errors.Is(err, ErrBadOffer) {
			t.Fatalf("error %v is not ErrBadOffer", err)
		}
	})
}
