//go:build windows

package win32

// DXGI Desktop Duplication (Windows 8 and later): each output (monitor)
// attached to the desktop is duplicated with a D3D11 device of its
// adapter; every frame the changed desktop image is copied to a staging
// texture the CPU can read, and each output's staging texture is copied
// into the virtual-screen frame at the output's desktop position. COM
// methods are called through their vtables with syscall.SyscallN; the
// indices below are the methods' places in the interfaces' vtables (those
// of the interfaces they inherit from first), as in the Windows SDK headers.
//
// Anything that fails makes Capture fall back to GDI (see capture_windows.go).

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	dxgi  = windows.NewLazySystemDLL("dxgi.dll")
	d3d11 = windows.NewLazySystemDLL("d3d11.dll")

	procCreateDXGIFactory1 = dxgi.NewProc("CreateDXGIFactory1")
	procD3D11CreateDevice  = d3d11.NewProc("D3D11CreateDevice")

	iidIDXGIFactory1   = windows.GUID{Data1: 0x770aae78, Data2: 0xf26f, Data3: 0x4dba, Data4: [8]byte{0xa8, 0x29, 0x25, 0x3c, 0x83, 0xd1, 0xb3, 0x87}}
	iidIDXGIOutput1    = windows.GUID{Data1: 0x00cddea8, Data2: 0x939b, Data3: 0x4b83, Data4: [8]byte{0xa3, 0x40, 0xa6, 0x85, 0x22, 0x66, 0x66, 0xcc}}
	iidID3D11Texture2D = windows.GUID{Data1: 0x6f15aaf2, Data2: 0xd208, Data3: 0x4e89, Data4: [8]byte{0x9a, 0xb4, 0x48, 0x95, 0x35, 0xd3, 0x4f, 0x9c}}
)

// Vtable indices.
const (
	// IUnknown
	vtQueryInterface = 0
	vtRelease        = 2
	// IDXGIFactory1
	vtEnumAdapters1 = 12
	// IDXGIAdapter
	vtEnumOutputs = 7
	// IDXGIOutput
	vtOutputGetDesc = 7
	// IDXGIOutput1
	vtDuplicateOutput = 22
	// IDXGIOutputDuplication
	vtDuplGetDesc      = 7
	vtAcquireNextFrame = 8
	vtReleaseFrame     = 14
	// ID3D11Device
	vtCreateTexture2D = 5
	// ID3D11DeviceContext
	vtMap          = 14
	vtUnmap        = 15
	vtCopyResource = 47
	// ID3D11Texture2D
	vtTextureGetDesc = 10
)

// HRESULTs the duplication handles or names.
const (
	dxgiErrorNotFound     hresult = 0x887a0002
	dxgiErrorAccessLost   hresult = 0x887a0026
	dxgiErrorWaitTimeout  hresult = 0x887a0027
	dxgiErrorUnsupported  hresult = 0x887a0004
	dxgiErrorUnavailable  hresult = 0x887a0022 // DXGI_ERROR_NOT_CURRENTLY_AVAILABLE
	dxgiErrorInvalidCall  hresult = 0x887a0001
	dxgiErrorDeviceGone   hresult = 0x887a0005 // DXGI_ERROR_DEVICE_REMOVED
	dxgiErrorDisconnected hresult = 0x887a0028 // DXGI_ERROR_SESSION_DISCONNECTED
	eNotImpl              hresult = 0x80004001
	eNoInterface          hresult = 0x80004002
	eFail                 hresult = 0x80004005
	eAccessDenied         hresult = 0x80070005
	eInvalidArg           hresult = 0x80070057
)

// hresult is a failed HRESULT as an error.
type hresult uint32

var hresultNames = map[hresult]string{
	dxgiErrorNotFound:     "DXGI_ERROR_NOT_FOUND",
	dxgiErrorAccessLost:   "DXGI_ERROR_ACCESS_LOST",
	dxgiErrorWaitTimeout:  "DXGI_ERROR_WAIT_TIMEOUT",
	dxgiErrorUnsupported:  "DXGI_ERROR_UNSUPPORTED",
	dxgiErrorUnavailable:  "DXGI_ERROR_NOT_CURRENTLY_AVAILABLE",
	dxgiErrorInvalidCall:  "DXGI_ERROR_INVALID_CALL",
	dxgiErrorDeviceGone:   "DXGI_ERROR_DEVICE_REMOVED",
	dxgiErrorDisconnected: "DXGI_ERROR_SESSION_DISCONNECTED",
	eNotImpl:              "E_NOTIMPL",
	eNoInterface:          "E_NOINTERFACE",
	eFail:                 "E_FAIL",
	eAccessDenied:         "E_ACCESSDENIED",
	eInvalidArg:           "E_INVALIDARG",
}

func (h hresult) Error() string {
	if name, ok := hresultNames[h]; ok {
		return fmt.Sprintf("%s (%#08x)", name, uint32(h))
	}
	return fmt.Sprintf("HRESULT %#08x", uint32(h))
}

// hr turns an HRESULT into nil (success) or an hresult error.
func hr(r uintptr) error {
	if int32(r) < 0 {
		return hresult(uint32(r))
	}
	return nil
}

var (
	errAccessLost    error = dxgiErrorAccessLost
	errLayoutChanged       = errors.New("win32: dxgi: the monitors changed")
)

// A comObject is a COM interface pointer: a pointer to a pointer to the
// vtable. The memory is Windows'; the garbage collector ignores it.
type comObject struct{ vtbl *[64]uintptr }

// call calls the method at index i with the object as its first argument.
//
//go:uintptrescapes
func (o *comObject) call(i int, args ...uintptr) error {
	r, _, _ := syscall.SyscallN(o.vtbl[i], append([]uintptr{uintptr(unsafe.Pointer(o))}, args...)...)
	return hr(r)
}

// callVoid calls a method that returns nothing.
//
//go:uintptrescapes
func (o *comObject) callVoid(i int, args ...uintptr) {
	syscall.SyscallN(o.vtbl[i], append([]uintptr{uintptr(unsafe.Pointer(o))}, args...)...)
}

func (o *comObject) release() {
	if o != nil {
		o.callVoid(vtRelease)
	}
}

// outputDesc is DXGI_OUTPUT_DESC.
type outputDesc struct {
	deviceName [32]uint16
	desktop    rect
	attached   int32
	rotation   uint32
	monitor    uintptr
}

// duplDesc is DXGI_OUTDUPL_DESC.
type duplDesc struct {
	width, height  uint32
	refreshNum     uint32
	refreshDen     uint32
	format         uint32
	scanlineOrder  uint32
	scaling        uint32
	rotation       uint32
	inSystemMemory int32
}

// frameInfo is DXGI_OUTDUPL_FRAME_INFO.
type frameInfo struct {
	lastPresentTime     int64
	lastMouseUpdateTime int64
	accumulatedFrames   uint32
	rectsCoalesced      int32
	protectedMaskedOut  int32
	pointerPos          point
	pointerVisible      int32
	metadataSize        uint32
	pointerShapeSize    uint32
}

// textureDesc is D3D11_TEXTURE2D_DESC.
type textureDesc struct {
	width, height  uint32
	mipLevels      uint32
	arraySize      uint32
	format         uint32
	sampleCount    uint32
	sampleQuality  uint32
	usage          uint32
	bindFlags      uint32
	cpuAccessFlags uint32
	miscFlags      uint32
}

// mappedSubresource is D3D11_MAPPED_SUBRESOURCE.
type mappedSubresource struct {
	data       *byte
	rowPitch   uint32
	depthPitch uint32
}

const (
	d3dDriverTypeUnknown = 0
	d3d11SDKVersion      = 7
	d3d11UsageStaging    = 3
	d3d11CPUAccessRead   = 0x20000
	d3d11MapRead         = 1
	formatB8G8R8A8       = 87 // DXGI_FORMAT_B8G8R8A8_UNORM
	rotationIdentity     = 1  // DXGI_MODE_ROTATION_IDENTITY; 0 is unspecified

	// firstFrameWait is how long the first frame of an output may take.
	firstFrameWait = 200 // ms
)

// A d3dDevice is the D3D11 device of one adapter and its immediate
// context.
type d3dDevice struct {
	dev, ctx *comObject
}

// A duplicatedOutput is one monitor's duplication.
type duplicatedOutput struct {
	dev     *d3dDevice
	dupl    *comObject // IDXGIOutputDuplication
	staging *comObject // ID3D11Texture2D the CPU reads: the last frame
	desk    rect       // where the output is on the desktop
	w, h    int        // of the staging texture
}

// A duplicator duplicates every output attached to the desktop.
type duplicator struct {
	virt    rect
	devices []*d3dDevice
	outputs []*duplicatedOutput
	covered bool // the outputs tile the whole virtual screen
}

// newDuplicator sets up the duplication of every output of every adapter
// for the virtual screen virt.
func newDuplicator(virt rect) (_ *duplicator, err error) {
	if err := procCreateDXGIFactory1.Find(); err != nil {
		return nil, fmt.Errorf("win32: dxgi: %w", err)
	}
	if err := procD3D11CreateDevice.Find(); err != nil {
		return nil, fmt.Errorf("win32: dxgi: %w", err)
	}
	var factory *comObject
	r, _, _ := procCreateDXGIFactory1.Call(uintptr(unsafe.Pointer(&iidIDXGIFactory1)), uintptr(unsafe.Pointer(&factory)))
	if err := hr(r); err != nil {
		return nil, fmt.Errorf("win32: dxgi: CreateDXGIFactory1: %w", err)
	}
	defer factory.release()
	d := &duplicator{virt: virt}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	for i := 0; ; i++ {
		var adapter *comObject
		err := factory.call(vtEnumAdapters1, uintptr(i), uintptr(unsafe.Pointer(&adapter)))
		if err == dxgiErrorNotFound {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("win32: dxgi: EnumAdapters1: %w", err)
		}
		err = d.addAdapter(adapter)
		adapter.release()
		if err != nil {
			return nil, err
		}
	}
	if len(d.outputs) == 0 {
		return nil, errors.New("win32: dxgi: no output is attached to the desktop")
	}
	var area int64
	for _, o := range d.outputs {
		area += int64(o.desk.width()) * int64(o.desk.height())
	}
	d.covered = area == int64(virt.width())*int64(virt.height())
	return d, nil
}

// addAdapter duplicates the outputs of one adapter that are attached to
// the desktop, with a device of its own.
func (d *duplicator) addAdapter(adapter *comObject) error {
	var outputs []*comObject
	defer func() {
		for _, o := range outputs {
			o.release()
		}
	}()
	var descs []outputDesc
	for j := 0; ; j++ {
		var out *comObject
		err := adapter.call(vtEnumOutputs, uintptr(j), uintptr(unsafe.Pointer(&out)))
		if err == dxgiErrorNotFound {
			break
		}
		if err != nil {
			return fmt.Errorf("win32: dxgi: EnumOutputs: %w", err)
		}
		var desc outputDesc
		if err := out.call(vtOutputGetDesc, uintptr(unsafe.Pointer(&desc))); err != nil || desc.attached == 0 {
			out.release()
			continue
		}
		if desc.rotation > rotationIdentity {
			out.release()
			return errors.New("win32: dxgi: a monitor is rotated, which capture does not turn upright")
		}
		outputs = append(outputs, out)
		descs = append(descs, desc)
	}
	if len(outputs) == 0 {
		return nil
	}
	dev := new(d3dDevice)
	var level uint32
	r, _, _ := procD3D11CreateDevice.Call(uintptr(unsafe.Pointer(adapter)), d3dDriverTypeUnknown, 0, 0, 0, 0,
		d3d11SDKVersion, uintptr(unsafe.Pointer(&dev.dev)), uintptr(unsafe.Pointer(&level)), uintptr(unsafe.Pointer(&dev.ctx)))
	if err := hr(r); err != nil {
		return fmt.Errorf("win32: dxgi: D3D11CreateDevice: %w", err)
	}
	d.devices = append(d.devices, dev)
	for k, out := range outputs {
		var out1 *comObject
		if err := out.call(vtQueryInterface, uintptr(unsafe.Pointer(&iidIDXGIOutput1)), uintptr(unsafe.Pointer(&out1))); err != nil {
			return fmt.Errorf("win32: dxgi: IDXGIOutput1: %w", err)
		}
		var dupl *comObject
		err := out1.call(vtDuplicateOutput, uintptr(unsafe.Pointer(dev.dev)), uintptr(unsafe.Pointer(&dupl)))
		out1.release()
		if err != nil {
			return fmt.Errorf("win32: dxgi: DuplicateOutput: %w", err)
		}
		o := &duplicatedOutput{dev: dev, dupl: dupl, desk: descs[k].desktop}
		d.outputs = append(d.outputs, o)
		var dd duplDesc
		dupl.callVoid(vtDuplGetDesc, uintptr(unsafe.Pointer(&dd)))
		if dd.rotation > rotationIdentity {
			return errors.New("win32: dxgi: a monitor is rotated, which capture does not turn upright")
		}
	}
	return nil
}

// capture copies every output into bits, the BGRA frame of the virtual
// screen virt.
func (d *duplicator) capture(bits []byte, virt rect) error {
	if virt != d.virt {
		return errLayoutChanged
	}
	if !d.covered {
		clear(bits) // the parts no monitor shows are black
	}
	for _, o := range d.outputs {
		if err := o.update(); err != nil {
			return err
		}
		if err := o.copyTo(bits, virt); err != nil {
			return err
		}
	}
	return nil
}

// update copies the output's new frame, if there is one, to its staging
// texture.
func (o *duplicatedOutput) update() error {
	wait := uintptr(0)
	if o.staging == nil {
		wait = firstFrameWait
	}
	var info frameInfo
	var res *comObject
	err := o.dupl.call(vtAcquireNextFrame, wait, uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&res)))
	if err == dxgiErrorWaitTimeout {
		return nil // nothing changed: the staging texture is current
	}
	if err == dxgiErrorAccessLost {
		return errAccessLost
	}
	if err != nil {
		return fmt.Errorf("win32: dxgi: AcquireNextFrame: %w", err)
	}
	defer o.dupl.call(vtReleaseFrame)
	defer res.release()
	if info.lastPresentTime == 0 && o.staging != nil {
		return nil // only the pointer moved
	}
	var tex *comObject
	if err := res.call(vtQueryInterface, uintptr(unsafe.Pointer(&iidID3D11Texture2D)), uintptr(unsafe.Pointer(&tex))); err != nil {
		return fmt.Errorf("win32: dxgi: desktop texture: %w", err)
	}
	defer tex.release()
	if o.staging == nil {
		var desc textureDesc
		tex.callVoid(vtTextureGetDesc, uintptr(unsafe.Pointer(&desc)))
		if desc.format != formatB8G8R8A8 {
			return fmt.Errorf("win32: dxgi: desktop format %d is not B8G8R8A8", desc.format)
		}
		desc.mipLevels, desc.arraySize = 1, 1
		desc.sampleCount, desc.sampleQuality = 1, 0
		desc.usage, desc.bindFlags, desc.cpuAccessFlags, desc.miscFlags = d3d11UsageStaging, 0, d3d11CPUAccessRead, 0
		var staging *comObject
		if err := o.dev.dev.call(vtCreateTexture2D, uintptr(unsafe.Pointer(&desc)), 0, uintptr(unsafe.Pointer(&staging))); err != nil {
			return fmt.Errorf("win32: dxgi: CreateTexture2D: %w", err)
		}
		o.staging, o.w, o.h = staging, int(desc.width), int(desc.height)
	}
	o.dev.ctx.callVoid(vtCopyResource, uintptr(unsafe.Pointer(o.staging)), uintptr(unsafe.Pointer(tex)))
	return nil
}

// copyTo copies the output's staging texture into bits at the output's
// place in the virtual screen.
func (o *duplicatedOutput) copyTo(bits []byte, virt rect) error {
	if o.staging == nil {
		return nil // no frame yet
	}
	var m mappedSubresource
	if err := o.dev.ctx.call(vtMap, uintptr(unsafe.Pointer(o.staging)), 0, d3d11MapRead, 0, uintptr(unsafe.Pointer(&m))); err != nil {
		return fmt.Errorf("win32: dxgi: Map: %w", err)
	}
	defer o.dev.ctx.callVoid(vtUnmap, uintptr(unsafe.Pointer(o.staging)), 0)
	pitch := int(m.rowPitch)
	if m.data == nil || pitch < o.w*4 {
		return fmt.Errorf("win32: dxgi: Map gave a row pitch of %d for %d pixels", pitch, o.w)
	}
	src := unsafe.Slice(m.data, pitch*(o.h-1)+o.w*4)
	blit(bits, int(virt.width()), int(virt.height()), src, o.w, o.h, pitch,
		int(o.desk.Left-virt.Left), int(o.desk.Top-virt.Top))
	return nil
}

func (d *duplicator) close() {
	for _, o := range d.outputs {
		o.staging.release()
		o.dupl.release()
	}
	for _, dev := range d.devices {
		dev.ctx.release()
		dev.dev.release()
	}
	d.outputs, d.devices = nil, nil
}
