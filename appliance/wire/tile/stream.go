package tile

// Stream is one recorded screen of testdata/streams.json, the golden
// streams that the Go decoder (TestGoldenStreams) and the browser's
// (tools/e2e TestRemoteJS) both draw: the wire frames the
// Tiler sent for a few changes of a synthetic desktop (copies and tiles,
// no JPEG so every decoder is exact), and the SHA-256 of the RGB pixels
// after each step.
type Stream struct {
	Name   string   `json:"name"`
	W      int      `json:"w"`
	H      int      `json:"h"`
	Steps  []int    `json:"steps"`  // frames in each step
	Frames [][]byte `json:"frames"` // encoded wire frames, every step's in turn
	Sums   [][]byte `json:"sums"`   // SHA-256 of the picture after each step
}
