package wireguard

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestChoose(t *testing.T) {
	noModule := unix.EOPNOTSUPP
	other := errors.New("file exists")
	for _, tc := range []struct {
		name      string
		want      Implementation
		existing  string
		kernelErr error
		tried     bool // addKernel called
		got       Implementation
		errHas    string
	}{
		{"auto with the module", Auto, "", nil, true, Kernel, ""},
		{"auto without the module", Auto, "", noModule, true, Userspace, ""},
		{"auto, kernel fails otherwise", Auto, "", other, true, "", "file exists"},
		{"kernel without the module", Kernel, "", noModule, true, "", "modprobe wireguard"},
		{"kernel with the module", Kernel, "", nil, true, Kernel, ""},
		{"userspace never tries the kernel", Userspace, "", nil, false, Userspace, ""},
		{"existing kernel device is adopted", Auto, "wireguard", nil, false, Kernel, ""},
		{"existing kernel device, userspace asked", Userspace, "wireguard", nil, false, "", "ip link del sbwg0"},
		{"someone else's tun", Auto, "tuntap", nil, false, "", "did not make"},
		{"someone else's veth", Kernel, "veth", nil, false, "", "choose another name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tried := false
			got, err := choose("sbwg0", tc.want, tc.existing, func() error { tried = true; return tc.kernelErr })
			if got != tc.got || tried != tc.tried {
				t.Errorf("got %q (kernel tried %v), want %q (tried %v)", got, tried, tc.got, tc.tried)
			}
			if (err != nil) != (tc.errHas != "") || err != nil && !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("err = %v, want one containing %q", err, tc.errHas)
			}
		})
	}
}
