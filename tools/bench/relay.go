package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/switchboardhq/switchboard/appliance/relay"
	"github.com/switchboardhq/switchboard/appliance/wire"
)

// Sizes of the relay suite.
const (
	relayBulkRound   = 48 << 20 // bytes per bulk round
	relayIdleClients = 2000
	relaySessions    = 200
	relaySessionBits = 1_000_000
	relayFrameEvery  = 50 * time.Millisecond
	relayLoadWarm    = time.Second
	relayLoadTime    = 8 * time.Second // measured, after the warm-up
)

// relayQUIC is the appliance's QUIC configuration (appliance/listen.go).
var relayQUIC = &quic.Config{MaxIdleTimeout: 60 * time.Second, KeepAlivePeriod: 20 * time.Second}

// runRelay measures the relay in-process on loopback against direct QUIC
// streams in the same run: bulk throughput to a native viewer, a 64-byte
// round trip from a viewer to the client and back, the memory of idle
// clients, and the delay of screen frames with 200 sessions of 1 Mbit/s
// and two viewers each.
func runRelay(ctx context.Context, cfg config) (Result, error) {
	env, err := newRelayEnv()
	if err != nil {
		return Result{}, err
	}
	defer env.close()
	var res Result

	t0 := time.Now()
	defer func() { cfg.tb.Logf("relay: done after %v", time.Since(t0)) }()
	cfg.tb.Logf("relay: bulk, %d MiB per round", relayBulkRound>>20)
	if err := benchBulk(ctx, env, &res); err != nil {
		return res, fmt.Errorf("bulk: %w", err)
	}
	cfg.tb.Logf("relay: (%v) %d round trips of 64 bytes", time.Since(t0), cfg.n)
	if err := benchRoundTrip(ctx, env, cfg.n, &res); err != nil {
		return res, fmt.Errorf("round trip: %w", err)
	}
	cfg.tb.Logf("relay: (%v) %d idle clients", time.Since(t0), relayIdleClients)
	if err := benchIdle(ctx, env, &res); err != nil {
		return res, fmt.Errorf("idle clients: %w", err)
	}
	cfg.tb.Logf("relay: (%v) %d sessions × 1 Mbit/s × 2 viewers for %v", time.Since(t0), relaySessions, relayLoadWarm+relayLoadTime)
	if err := benchLoad(ctx, env, &res); err != nil {
		return res, fmt.Errorf("load: %w", err)
	}
	return res, nil
}

func writeMsg(w io.Writer, m wire.Message) error {
	f, err := wire.Encode(m)
	if err != nil {
		return err
	}
	return wire.WriteFrame(w, f)
}

// epoch is the clock frames carry: nanoseconds since it, monotonic.
var epoch = time.Now()

func stamp() uint64                               { return uint64(time.Since(epoch)) }
func since(ts uint64) time.Duration               { return time.Since(epoch) - time.Duration(ts) }
func stampAt(b []byte)                            { binary.BigEndian.PutUint64(b, stamp()) }
func stampOf(b []byte) (uint64, bool)             { return binary.BigEndian.Uint64(b), len(b) >= 8 }
func drainStream(r io.Reader, wg *sync.WaitGroup) { wg.Go(func() { io.Copy(io.Discard, r) }) }

// bulkRound sends bytes of 64 KiB file chunks on w and reads them from r,
// returning each chunk's delay and the time until the last arrived.
func bulkRound(ctx context.Context, w io.Writer, r io.Reader, bytes int) (stats, error) {
	// A file of the customer's (the id's high bit), which the relay passes
	// to viewers with the file-transfer right.
	f, err := wire.Encode(wire.FileChunk{ID: 1<<31 | 1, Data: make([]byte, wire.MaxChunk)})
	if err != nil {
		return stats{}, err
	}
	frame, _ := wire.AppendFrame(nil, f)
	data := frame[wire.HeaderLen+12:]
	count := bytes / wire.MaxChunk
	start := time.Now()
	sendErr := make(chan error, 1)
	go func() {
		for i := range count {
			binary.BigEndian.PutUint64(frame[wire.HeaderLen+4:], uint64(i*wire.MaxChunk))
			stampAt(data)
			if _, err := w.Write(frame); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- nil
	}()
	s := stats{lat: make([]time.Duration, 0, count)}
	buf := make([]byte, 0, wire.MaxChunk+64)
	for len(s.lat) < count {
		f, err := wire.ReadFrame(r, buf)
		if err != nil {
			return s, err
		}
		if f.Type != wire.TFileChunk {
			continue
		}
		ts, _ := stampOf(f.Payload[12:])
		s.lat = append(s.lat, since(ts))
	}
	s.elapsed = time.Since(start)
	if err := <-sendErr; err != nil {
		return s, err
	}
	return s, ctx.Err()
}

func benchBulk(ctx context.Context, e *relayEnv, res *Result) error {
	cconn, cst, err := e.dialRelay(ctx, wire.RoleClient, "c 1")
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait() // after the connections closed (defers run last first)
	defer cconn.CloseWithError(0, "")
	drainStream(cst, &wg)
	tconn, tst, err := e.dialRelay(ctx, wire.RoleTechnician, "t 1 1")
	if err != nil {
		return err
	}
	defer tconn.CloseWithError(0, "")
	near, far, closeDirect, err := e.dialDirect(ctx)
	if err != nil {
		return err
	}
	defer closeDirect()
	// The same over the TCP fallback: a second session whose client came
	// over TLS on TCP, its viewer on QUIC.
	ctcp, err := e.dialRelayTCP(ctx, wire.RoleClient, "c 2")
	if err != nil {
		return err
	}
	defer ctcp.Close()
	drainStream(ctcp, &wg)
	t2conn, t2st, err := e.dialRelay(ctx, wire.RoleTechnician, "t 2 1")
	if err != nil {
		return err
	}
	defer t2conn.CloseWithError(0, "")

	var direct, relayed, overTCP stats
	for round := range rounds {
		for i := range 3 {
			var s stats
			switch (round + i) % 3 {
			case 0:
				s, err = bulkRound(ctx, near, far, relayBulkRound)
				direct.lat, direct.elapsed = append(direct.lat, s.lat...), direct.elapsed+s.elapsed
			case 1:
				s, err = bulkRound(ctx, cst, tst, relayBulkRound)
				relayed.lat, relayed.elapsed = append(relayed.lat, s.lat...), relayed.elapsed+s.elapsed
			default:
				s, err = bulkRound(ctx, ctcp, t2st, relayBulkRound)
				overTCP.lat, overTCP.elapsed = append(overTCP.lat, s.lat...), overTCP.elapsed+s.elapsed
			}
			if err != nil {
				return err
			}
		}
	}
	td := newTarget("bulk 64 KiB chunks, direct QUIC", direct)
	tr := newTarget("bulk 64 KiB chunks, client→relay→native viewer", relayed)
	tt := newTarget("bulk 64 KiB chunks, client over TCP→relay→viewer", overTCP)
	q := ratio("bulk relayed / direct", tr, td)
	qt := ratio("bulk client over TCP / client over QUIC", tt, tr)
	res.Targets = append(res.Targets, td, tr, tt)
	res.Ratios = append(res.Ratios, q, qt)
	mb := func(t Target) float64 { return t.ReqPerSec * wire.MaxChunk / 1e6 }
	res.Notes = append(res.Notes, fmt.Sprintf("bulk: direct %.0f MB/s, relayed %.0f MB/s = %.2fx (goal >= 0.45x: %s); latencies are each chunk's delay under load",
		mb(td), mb(tr), q.Throughput, verdict(q.Throughput >= 0.45)))
	res.Notes = append(res.Notes, fmt.Sprintf("bulk with the client on the TCP fallback: %.0f MB/s = %.2fx of the client on QUIC",
		mb(tt), qt.Throughput))
	return nil
}

// echo writes back every Clipboard frame it reads.
func echo(rw io.ReadWriter) {
	buf := make([]byte, 0, 4096)
	for {
		f, err := wire.ReadFrame(rw, buf)
		if err != nil {
			return
		}
		if f.Type == wire.TClipboard {
			if wire.WriteFrame(rw, f) != nil {
				return
			}
		}
	}
}

// roundTrips sends count 64-byte clipboard frames on rw, each after the
// answer to the previous, and returns the round-trip times.
func roundTrips(rw io.ReadWriter, count int) (stats, error) {
	f, err := wire.Encode(wire.Clipboard{Text: string(make([]byte, 64))})
	if err != nil {
		return stats{}, err
	}
	frame, _ := wire.AppendFrame(nil, f)
	buf := make([]byte, 0, 4096)
	s := stats{lat: make([]time.Duration, 0, count)}
	start := time.Now()
	for range count {
		t0 := time.Now()
		if _, err := rw.Write(frame); err != nil {
			return s, err
		}
		for {
			f, err := wire.ReadFrame(rw, buf)
			if err != nil {
				return s, err
			}
			if f.Type == wire.TClipboard {
				break
			}
		}
		s.lat = append(s.lat, time.Since(t0))
	}
	s.elapsed = time.Since(start)
	return s, nil
}

func benchRoundTrip(ctx context.Context, e *relayEnv, n int, res *Result) error {
	cconn, cst, err := e.dialRelay(ctx, wire.RoleClient, "c 2")
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait() // after the connections closed (defers run last first)
	defer cconn.CloseWithError(0, "")
	// The customer allows technician 7 control (clipboard text goes only
	// then); the Pong after it says the relay has taken the answer in.
	if err := writeMsg(cst, wire.ConsentReply{Granted: true, What: "control", Viewer: 7}); err != nil {
		return err
	}
	if err := writeMsg(cst, wire.Ping{Nonce: 1}); err != nil {
		return err
	}
	for {
		f, err := wire.ReadFrame(cst, nil)
		if err != nil {
			return err
		}
		if f.Type == wire.TPong {
			break
		}
	}
	wg.Go(func() { echo(cst) })
	tconn, tst, err := e.dialRelay(ctx, wire.RoleTechnician, "t 2 7")
	if err != nil {
		return err
	}
	defer tconn.CloseWithError(0, "")
	e.relay.SetController(2, 7)
	near, far, closeDirect, err := e.dialDirect(ctx)
	if err != nil {
		return err
	}
	defer closeDirect()
	wg.Go(func() { echo(far) })

	if _, err := roundTrips(near, min(n, 1000)); err != nil {
		return err
	}
	if _, err := roundTrips(tst, min(n, 1000)); err != nil {
		return err
	}
	var direct, relayed stats
	for round := range rounds {
		count := n/rounds + btoi(round < n%rounds)
		for i := range 2 {
			var s stats
			if (round+i)%2 == 0 {
				s, err = roundTrips(near, count)
				direct.lat, direct.elapsed = append(direct.lat, s.lat...), direct.elapsed+s.elapsed
			} else {
				s, err = roundTrips(tst, count)
				relayed.lat, relayed.elapsed = append(relayed.lat, s.lat...), relayed.elapsed+s.elapsed
			}
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	td := newTarget("64 B round trip, direct QUIC", direct)
	tr := newTarget("64 B round trip, viewer→relay→client→relay→viewer", relayed)
	res.Targets = append(res.Targets, td, tr)
	res.Ratios = append(res.Ratios, ratio("round trip relayed / direct", tr, td))
	res.Notes = append(res.Notes, fmt.Sprintf("round trip: the relay adds %.0fµs at p50 and %.0fµs at p99",
		(tr.P50ms-td.P50ms)*1000, (tr.P99ms-td.P99ms)*1000))
	return nil
}

// footprint is the heap and goroutines that count connections added.
type footprint struct {
	heap, stack uint64
	goroutines  int
}

func measure() footprint {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return footprint{heap: m.HeapInuse, stack: m.StackInuse, goroutines: runtime.NumGoroutine()}
}

func (f footprint) per(before footprint, count int) (heap, stack, goroutines float64) {
	return float64(int64(f.heap)-int64(before.heap)) / float64(count),
		float64(int64(f.stack)-int64(before.stack)) / float64(count),
		float64(f.goroutines-before.goroutines) / float64(count)
}

// connectMany runs connect count times from 16 workers.
func connectMany(ctx context.Context, count int, connect func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= count || ctx.Err() != nil {
					return
				}
				if err := connect(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

func benchIdle(ctx context.Context, e *relayEnv, res *Result) error {
	// Baseline: plain QUIC connections with a stream and one goroutine
	// reading it on the server side.
	type pair struct {
		near, far *quic.Stream
		close     func()
	}
	var readers sync.WaitGroup
	var pairs []pair
	connectDirect := func(i int) error {
		near, far, closeFn, err := e.dialDirect(ctx)
		if err != nil {
			return err
		}
		pairs[i] = pair{near, far, closeFn}
		readers.Go(func() {
			var b [64]byte // no pooled 32 KiB copy buffer: idle readers hold little
			for {
				if _, err := far.Read(b[:]); err != nil {
					return
				}
			}
		})
		return nil
	}
	// The first round (not measured) grows what the runtime and quic-go
	// keep for good (goroutine descriptors, maps), so that neither measured
	// round pays for it.
	var before, after footprint
	for round := range 2 {
		pairs = make([]pair, relayIdleClients)
		before = measure()
		err := connectMany(ctx, relayIdleClients, connectDirect)
		after = measure()
		for _, p := range pairs {
			if p.close != nil {
				p.close()
			}
		}
		readers.Wait()
		if err != nil {
			return fmt.Errorf("direct round %d: %w", round, err)
		}
	}
	dHeap, dStack, dG := after.per(before, relayIdleClients)

	conns := make([]*quic.Conn, relayIdleClients)
	before = measure()
	err := connectMany(ctx, relayIdleClients, func(i int) error {
		conn, _, err := e.dialRelay(ctx, wire.RoleClient, fmt.Sprintf("c %d", 1000+i))
		conns[i] = conn
		return err
	})
	after = measure()
	live := e.relay.Totals().Clients
	for _, c := range conns {
		if c != nil {
			c.CloseWithError(0, "")
		}
	}
	if err != nil {
		return err
	}
	if live != relayIdleClients {
		return fmt.Errorf("%d clients connected, want %d", live, relayIdleClients)
	}
	rHeap, rStack, rG := after.per(before, relayIdleClients)
	// Both ends live in this process. The box's share is the relayed
	// footprint less a client's end, taken as half the direct pair.
	box := rHeap - dHeap/2
	res.Notes = append(res.Notes,
		fmt.Sprintf("idle clients (%d, both ends in this process): heap %.1f KiB and stack %.1f KiB per client, %.2f goroutines per client",
			relayIdleClients, rHeap/1024, rStack/1024, rG),
		fmt.Sprintf("  baseline QUIC connection + stream + reader: heap %.1f KiB, stack %.1f KiB, %.2f goroutines per pair", dHeap/1024, dStack/1024, dG),
		fmt.Sprintf("  box side ≈ %.1f KiB heap per idle client (goal <= 64 KiB: %s), of which the relay's own state ≈ %.1f KiB; the relay keeps 1 goroutine per idle client (its reader)",
			box/1024, verdict(box <= 64<<10), (rHeap-dHeap)/1024))
	// Let the relay see them go before the next measurement.
	deadline := time.Now().Add(30 * time.Second)
	for e.relay.Totals().Clients > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// loadSender sends a frame of tiles every relayFrameEvery, starting after
// offset, until ctx ends: relaySessionBits in all, each tile stamped.
func loadSender(ctx context.Context, w io.Writer, offset time.Duration) error {
	const perFrame = relaySessionBits / 8 / int(time.Second/relayFrameEvery)
	const tiles = 2
	var frames [][]byte
	for i := range tiles {
		f, err := wire.Encode(wire.Tile{X: uint16(64 * i), W: 64, H: 64, Encoding: wire.EncDeflate, Data: make([]byte, perFrame/tiles-wire.HeaderLen-9)})
		if err != nil {
			return err
		}
		b, _ := wire.AppendFrame(nil, f)
		frames = append(frames, b)
	}
	var batch []byte
	t := time.NewTimer(offset)
	defer t.Stop()
	for seq := uint64(0); ; seq++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		t.Reset(relayFrameEvery)
		batch = batch[:0]
		for _, f := range frames {
			stampAt(f[wire.HeaderLen+9:])
			batch = append(batch, f...)
		}
		end, _ := wire.Encode(wire.FrameEnd{Seq: seq})
		batch, _ = wire.AppendFrame(batch, end)
		if _, err := w.Write(batch); err != nil {
			return err
		}
	}
}

// delays collects the delays of tiles stamped from `from` on.
type delays struct {
	from atomic.Uint64 // ^0 during the warm-up
	mu   sync.Mutex
	lat  []time.Duration
}

// read takes frames from next until it fails, keeping the delays of
// measured tiles, and adds them to d at the end.
func (d *delays) read(next func() (wire.Type, []byte, error)) {
	var lat []time.Duration
	for {
		t, payload, err := next()
		if err != nil {
			break
		}
		if t != wire.TTile || len(payload) < 9+8 {
			continue
		}
		if ts, _ := stampOf(payload[9:]); ts >= d.from.Load() {
			lat = append(lat, since(ts))
		}
	}
	d.mu.Lock()
	d.lat = append(d.lat, lat...)
	d.mu.Unlock()
}

// loadRun drives relaySessions senders for the warm-up and the measured
// time. start sets session i up and returns its writer; finish, called
// after the senders stopped, closes everything and waits for the readers.
func loadRun(ctx context.Context, start func(ctx context.Context, i int, d *delays) (io.Writer, error), finish func()) (stats, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := &delays{}
	d.from.Store(^uint64(0))
	writers := make([]io.Writer, relaySessions)
	err := connectMany(ctx, relaySessions, func(i int) error {
		w, err := start(ctx, i, d)
		writers[i] = w
		return err
	})
	if err != nil {
		cancel()
		finish()
		return stats{}, err
	}
	var wg sync.WaitGroup
	errs := make(chan error, relaySessions)
	for i, w := range writers {
		wg.Go(func() {
			if err := loadSender(ctx, w, relayFrameEvery*time.Duration(i)/relaySessions); err != nil && ctx.Err() == nil {
				errs <- err
			}
		})
	}
	warm := time.NewTimer(relayLoadWarm)
	select {
	case <-warm.C:
	case <-ctx.Done():
	}
	d.from.Store(stamp())
	measured := time.NewTimer(relayLoadTime)
	select {
	case <-measured.C:
	case err = <-errs:
	case <-ctx.Done():
		err = ctx.Err()
	}
	cancel()
	wg.Wait()
	finish()
	d.mu.Lock()
	defer d.mu.Unlock()
	return stats{lat: d.lat, elapsed: relayLoadTime}, err
}

func benchLoad(ctx context.Context, e *relayEnv, res *Result) error {
	var (
		mu      sync.Mutex
		closers []func()
		readers sync.WaitGroup
	)
	onClose := func(f func()) {
		mu.Lock()
		closers = append(closers, f)
		mu.Unlock()
	}
	finish := func() {
		mu.Lock()
		for _, c := range closers {
			c()
		}
		closers = nil
		mu.Unlock()
		readers.Wait()
	}

	direct, err := loadRun(ctx, func(ctx context.Context, i int, d *delays) (io.Writer, error) {
		near, far, closeFn, err := e.dialDirect(ctx)
		if err != nil {
			return nil, err
		}
		onClose(closeFn)
		buf := make([]byte, 0, 8<<10)
		readers.Go(func() {
			d.read(func() (wire.Type, []byte, error) {
				f, err := wire.ReadFrame(far, buf)
				return f.Type, f.Payload, err
			})
		})
		return near, nil
	}, finish)
	if err != nil {
		return err
	}

	relayed, err := loadRun(ctx, func(ctx context.Context, i int, d *delays) (io.Writer, error) {
		session := uint64(100_000 + i)
		conn, st, err := e.dialRelay(ctx, wire.RoleClient, fmt.Sprintf("c %d", session))
		if err != nil {
			return nil, err
		}
		onClose(func() { conn.CloseWithError(0, "") })
		drainStream(st, &readers)
		for v := range 2 {
			viewer, err := e.relay.Join(session, uint64(v+1), "bench", relay.Rights{Control: true, Files: true})
			if err != nil {
				return nil, err
			}
			onClose(viewer.Close)
			readers.Go(func() {
				d.read(func() (wire.Type, []byte, error) {
					b, err := viewer.Next(context.Background())
					if err != nil {
						return 0, nil, err
					}
					return wire.Type(b[0]), b[wire.HeaderLen:], nil
				})
			})
			// Screen frames go only to technicians the customer allowed
			// to view; the answer travels before the tiles.
			if err := writeMsg(st, wire.ConsentReply{Granted: true, What: "view", Viewer: uint64(v + 1)}); err != nil {
				return nil, err
			}
		}
		return st, nil
	}, finish)
	if err != nil {
		return err
	}
	if len(relayed.lat) == 0 || len(direct.lat) == 0 {
		return errors.New("no tile arrived")
	}
	td := newTarget(fmt.Sprintf("tile delay, %d direct QUIC streams × 1 Mbit/s", relaySessions), direct)
	tr := newTarget(fmt.Sprintf("tile delay, %d sessions × 1 Mbit/s × 2 viewers via relay", relaySessions), relayed)
	res.Targets = append(res.Targets, td, tr)
	res.Ratios = append(res.Ratios, ratio("tile delay relayed / direct", tr, td))
	tot := e.relay.Totals()
	res.Notes = append(res.Notes, fmt.Sprintf("load: p99 tile delay through the box %s (goal <= 50ms: %s), %d tiles measured; drops %v; viewers in-process (the browser gateway's path)",
		fmtMs(tr.P99ms), verdict(tr.P99ms <= 50), len(relayed.lat), tot.Drops))
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}
