package client

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/switchboardhq/switchboard/appliance/wire"
	"github.com/switchboardhq/switchboard/cmd/supportclient/prompt"
)

// MaxFileSize is the largest file the client receives or sends.
const MaxFileSize = 2 << 30

// outgoingBit marks the ids of files the client offers.
const outgoingBit = 1 << 31

// incoming is a file a technician sends.
type incoming struct {
	id   uint32
	name string // as offered, cleaned
	size uint64
	part string
	f    *os.File
	h    hash.Hash
	next uint64 // bytes written
}

// outgoing is a file the customer sends.
type outgoing struct {
	id     uint32
	name   string
	path   string
	size   uint64
	cancel context.CancelFunc // stops the sender; nil before it starts
}

// size formats n bytes for people.
func size(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func percent(done, total uint64) uint64 {
	if total == 0 {
		return 100
	}
	return done * 100 / total
}

// diskName makes an offered name (already free of paths and control
// characters by the wire's checks) safe on every file system.
func diskName(name string) string {
	name = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`<>:"/\|?*`, r) || r < 0x20 {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimRight(name, ". ")
	if name == "" {
		name = "file"
	}
	return name
}

func (s *session) cancelIn(id uint32, reason string) error {
	return s.send(wire.FileCancel{ID: id, Reason: reason})
}

func (s *session) fileOffer(m wire.FileOffer) error {
	if m.ID&outgoingBit != 0 {
		return s.cancelIn(m.ID, "file ids with the high bit set belong to the customer's offers")
	}
	if _, busy := s.incoming[m.ID]; busy {
		return s.cancelIn(m.ID, "a file with this id is already being sent")
	}
	if m.Size > MaxFileSize {
		s.say("%s tried to send %s (%s), which is larger than 2 GiB.", cmp.Or(prompt.Clean(m.From, maxShownName), s.tech()), prompt.Clean(m.Name, 80), size(m.Size))
		return s.cancelIn(m.ID, "file is larger than 2 GiB")
	}
	name := prompt.Clean(m.Name, 120)
	from := prompt.Clean(m.From, maxShownName)
	if from == "" {
		from = s.tech()
	}
	s.incoming[m.ID] = nil // being asked
	s.ask(s.t("Technician %s wants to send you %s (%s). Accept?", from, name, size(m.Size)), func(ok bool) error {
		if in, asked := s.incoming[m.ID]; !asked || in != nil {
			return nil // withdrawn while the question was open
		}
		if !ok {
			delete(s.incoming, m.ID)
			s.say("You refused %s.", name)
			return s.send(wire.FileAnswer{ID: m.ID})
		}
		in, err := s.openPart(m, name)
		if err != nil {
			delete(s.incoming, m.ID)
			s.log.Warn("receive file", "err", err)
			s.say("%s cannot be saved: %v", name, err)
			return s.cancelIn(m.ID, "the customer's computer cannot save the file: "+err.Error())
		}
		s.incoming[m.ID] = in
		if in.next > 0 {
			s.say("Receiving %s, resuming at %d %%…", name, percent(in.next, in.size))
		} else {
			s.say("Receiving %s…", name)
		}
		return s.send(wire.FileAnswer{ID: m.ID, Accept: true, Offset: in.next})
	})
	return nil
}

// openPart opens NAME.part in the download directory, keeping what an
// earlier attempt left there (when it is not longer than the offer) to
// resume from; the hash catches a part of another file of the same name.
func (s *session) openPart(m wire.FileOffer, name string) (*incoming, error) {
	dir := s.cfg.Downloads
	if dir == "" {
		dir = "."
	}
	part := filepath.Join(dir, diskName(m.Name)+".part")
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE|noFollow, 0o600)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", part)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	in := &incoming{id: m.ID, name: name, size: m.Size, part: part, f: f, h: sha256.New()}
	if have := uint64(st.Size()); have <= m.Size {
		n, err := io.Copy(in.h, f)
		if err != nil {
			f.Close()
			return nil, err
		}
		in.next = uint64(n)
	}
	if err := f.Truncate(int64(in.next)); err != nil {
		f.Close()
		return nil, err
	}
	if in.next == 0 {
		in.h.Reset()
	}
	if _, err := f.Seek(int64(in.next), io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return in, nil
}

func (s *session) fileChunk(m wire.FileChunk) error {
	in := s.incoming[m.ID]
	if in == nil {
		s.log.Debug("chunk of no transfer", "id", m.ID)
		return nil
	}
	if m.Offset != in.next || uint64(len(m.Data)) > in.size-in.next {
		s.stopIn(in, "")
		return s.cancelIn(m.ID, fmt.Sprintf("chunk at %d does not follow %d bytes of %d; send the file again to resume", m.Offset, in.next, in.size))
	}
	if _, err := in.f.Write(m.Data); err != nil {
		s.stopIn(in, "")
		s.say("%s could not be saved: %v", in.name, err)
		return s.cancelIn(m.ID, "the customer's computer could not save the file (is the disk full?)")
	}
	in.h.Write(m.Data)
	in.next += uint64(len(m.Data))
	return nil
}

func (s *session) fileDone(m wire.FileDone) error {
	if out := s.outgoing[m.ID]; out != nil {
		delete(s.outgoing, m.ID)
		s.say("%s was sent to %s.", out.name, s.tech())
		return nil
	}
	in := s.incoming[m.ID]
	if in == nil {
		return nil
	}
	if in.next != in.size {
		s.stopIn(in, "")
		return s.cancelIn(m.ID, fmt.Sprintf("the file ended after %d %%; send it again to resume", percent(in.next, in.size)))
	}
	var sum [32]byte
	in.h.Sum(sum[:0])
	if !bytes.Equal(sum[:], m.SHA256[:]) {
		s.stopIn(in, "")
		os.Remove(in.part)
		s.say("%s arrived damaged and was deleted.", in.name)
		return s.cancelIn(m.ID, "the file arrived damaged (its SHA-256 does not match) and was deleted; send it again")
	}
	s.stopIn(in, "")
	final, err := keep(in.part, filepath.Join(filepath.Dir(in.part), diskName(strings.TrimSuffix(filepath.Base(in.part), ".part"))))
	if err != nil {
		s.say("%s could not be saved: %v", in.name, err)
		return s.cancelIn(m.ID, "the customer's computer could not save the file")
	}
	s.say("Received %s (%s), saved as %s", in.name, size(in.size), final)
	return s.send(wire.FileDone{ID: m.ID, SHA256: sum})
}

// stopIn closes an incoming file (its .part stays, to resume) and says
// why when reason is given.
func (s *session) stopIn(in *incoming, reason string) {
	in.f.Close()
	delete(s.incoming, in.id)
	if reason != "" {
		s.say("Receiving %s stopped after %d %%: %s", in.name, percent(in.next, in.size), reason)
	}
}

// keep renames part to want, or to "want (n).ext" when want exists,
// never replacing a file.
func keep(part, want string) (string, error) {
	ext := filepath.Ext(want)
	base := strings.TrimSuffix(want, ext)
	for i := 0; i < 1000; i++ {
		name := want
		if i > 0 {
			name = fmt.Sprintf("%s (%d)%s", base, i, ext)
		}
		// A hard link fails if name exists, unlike a rename.
		err := os.Link(part, name)
		if err == nil {
			return name, os.Remove(part)
		}
		if errors.Is(err, os.ErrExist) {
			continue
		}
		// No hard links here (some file systems): check, then rename.
		if _, err := os.Lstat(name); err == nil {
			continue
		}
		return name, os.Rename(part, name)
	}
	return "", fmt.Errorf("too many files named like %s", want)
}

func (s *session) fileCancel(m wire.FileCancel) {
	reason := prompt.Clean(m.Reason, 200)
	if out := s.outgoing[m.ID]; out != nil {
		if out.cancel != nil {
			out.cancel()
		}
		delete(s.outgoing, m.ID)
		s.say("Sending %s stopped: %s", out.name, reason)
		return
	}
	in, ok := s.incoming[m.ID]
	switch {
	case ok && in == nil: // withdrawn while being asked
		delete(s.incoming, m.ID)
	case in != nil:
		s.stopIn(in, reason)
	}
}

// endTransfers closes the files of transfers still under way when the
// session ends.
func (s *session) endTransfers() {
	for _, in := range s.incoming {
		if in != nil {
			s.stopIn(in, "the session ended; ask for the file again to resume")
		}
	}
	for _, out := range s.outgoing {
		if out.cancel != nil {
			out.cancel()
		}
	}
}

// pickFile lets the customer choose a file to send, on a technician's
// request.
func (s *session) pickFile(tech string, viewer uint64) {
	job := func() {
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.ConsentTimeout)
		path, err := s.cfg.Prompter.PickFile(ctx, s.t("Technician %s asks you to choose a file to send.", tech))
		cancel()
		if err != nil {
			s.log.Info("no file picked", "err", err)
			path = ""
		}
		s.post(func() error {
			s.prompting--
			return s.offer(path, tech, viewer)
		})
	}
	select {
	case s.jobs <- job:
		s.prompting++ // the technician must not pick for the customer
	default:
		s.reply(false, "pick-file", viewer)
	}
}

// offer sends a FileOffer for the file at path ("" refuses), which tech
// (technician viewer) asked for.
func (s *session) offer(path, tech string, viewer uint64) error {
	if path == "" {
		s.say("No file was sent.")
		return s.reply(false, "pick-file", viewer)
	}
	st, err := os.Stat(path)
	switch {
	case err != nil:
	case !st.Mode().IsRegular():
		err = errors.New("it is not a regular file")
	case st.Size() > MaxFileSize:
		err = errors.New("it is larger than 2 GiB")
	}
	if err != nil {
		s.say("%s cannot be sent: %v", path, err)
		return s.reply(false, "pick-file", viewer)
	}
	name := wireName(filepath.Base(path))
	s.nextOut++
	id := outgoingBit | s.nextOut
	s.outgoing[id] = &outgoing{id: id, name: name, path: path, size: uint64(st.Size())}
	if err := s.reply(true, "pick-file", viewer); err != nil {
		return err
	}
	s.say("Offering %s (%s) to %s…", name, size(uint64(st.Size())), tech)
	return s.send(wire.FileOffer{ID: id, Name: name, Size: uint64(st.Size())})
}

// wireName makes a local file name acceptable as an offered name: clean
// text of at most wire.MaxName bytes.
func wireName(base string) string {
	name := prompt.Clean(base, wire.MaxName)
	for len(name) > wire.MaxName {
		r := []rune(name)
		name = string(r[:len(r)-1])
	}
	if name == "" || name == "." || name == ".." {
		name = "file"
	}
	return strings.NewReplacer("/", "_", "\\", "_").Replace(name)
}

func (s *session) fileAnswer(m wire.FileAnswer) error {
	out := s.outgoing[m.ID]
	if out == nil || out.cancel != nil {
		return nil
	}
	if !m.Accept {
		delete(s.outgoing, m.ID)
		s.say("%s declined %s.", s.tech(), out.name)
		return nil
	}
	if m.Offset > out.size {
		delete(s.outgoing, m.ID)
		return s.send(wire.FileCancel{ID: m.ID, Reason: "resume offset is past the end of the file"})
	}
	ctx, cancel := context.WithCancel(s.ctx)
	out.cancel = cancel
	s.wg.Go(func() {
		if err := s.sendFile(ctx, out, m.Offset); err != nil && ctx.Err() == nil {
			s.log.Warn("send file", "err", err)
			s.post(func() error {
				delete(s.outgoing, out.id)
				s.say("Sending %s stopped: %v", out.name, err)
				return s.send(wire.FileCancel{ID: out.id, Reason: "the customer's computer could not read the file; ask for it again"})
			})
		}
	})
	return nil
}

// sendFile sends the file from offset in chunks, then its SHA-256 (of the
// whole file, so that a resumed transfer is checked end to end).
func (s *session) sendFile(ctx context.Context, out *outgoing, offset uint64) error {
	f, err := os.Open(out.path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if n, err := io.CopyN(h, f, int64(offset)); err != nil {
		return fmt.Errorf("read the first %d bytes: %w (read %d)", offset, err, n)
	}
	buf := make([]byte, wire.MaxChunk)
	pos := offset
	for pos < out.size {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n, err := io.ReadFull(f, buf[:min(uint64(len(buf)), out.size-pos)])
		if err != nil {
			return fmt.Errorf("the file changed while being sent: %w", err)
		}
		h.Write(buf[:n])
		if err := s.send(wire.FileChunk{ID: out.id, Offset: pos, Data: buf[:n]}); err != nil {
			return err
		}
		pos += uint64(n)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return s.send(wire.FileDone{ID: out.id, SHA256: sum})
}
