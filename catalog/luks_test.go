package catalog

import (
	"encoding/binary"
	"strings"
	"testing"
)

// qcowHead returns the first bytes of a qcow2 header with the given
// encryption method and backing file offset.
func qcowHead(crypt uint32, backing uint64) []byte {
	b := make([]byte, 104)
	copy(b, qcowMagic)
	binary.BigEndian.PutUint32(b[4:], 3)
	binary.BigEndian.PutUint64(b[qcowBackingOff:], backing)
	binary.BigEndian.PutUint32(b[qcowCryptMethod:], crypt)
	return b
}

func TestCheckLUKS(t *testing.T) {
	for _, tt := range []struct {
		name string
		head []byte
		msg  string // "" for accepted
	}{
		{"LUKS qcow2", qcowHead(2, 0), ""},
		{"plain qcow2", qcowHead(0, 0), "needs a qcow2 disk encrypted with LUKS"},
		{"legacy AES qcow2", qcowHead(1, 0), "needs a qcow2 disk encrypted with LUKS"},
		{"backing file", qcowHead(2, 0x200), "backing file"},
		{"raw disk", make([]byte, 4096), "needs a qcow2"},
		{"short header", qcowHead(2, 0)[:35], "needs a qcow2"},
		{"empty", nil, "needs a qcow2"},
	} {
		err := checkLUKS(tt.head)
		if tt.msg == "" && err != nil || tt.msg != "" && (err == nil || !strings.Contains(err.Error(), tt.msg)) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.msg)
		}
	}
}

// FuzzCheckLUKS checks that no header makes checkLUKS panic, and that
// whatever it accepts has the LUKS method and no backing file.
func FuzzCheckLUKS(f *testing.F) {
	f.Add(qcowHead(2, 0))
	f.Add(qcowHead(2, 1))
	f.Add([]byte("QFI\xfb"))
	f.Fuzz(func(t *testing.T, head []byte) {
		if checkLUKS(head) != nil {
			return
		}
		if binary.BigEndian.Uint32(head[qcowCryptMethod:]) != 2 || binary.BigEndian.Uint64(head[qcowBackingOff:]) != 0 {
			t.Fatalf("accepted %x", head[:qcowHeaderPrefix])
		}
	})
}
