package catalog

import (
	"bytes"
	"context"
	"encoding/binary"

	"imgward"
	"imgward/errors"
)

// Images with imgward_protect=luks: a qcow2 disk that QEMU opens with LUKS.
// The owner encrypts the disk before uploading it (imgward disk encrypt),
// under a passphrase derived from the image's data key (seal/qcow2), so
// the data key exists from the image's creation, and the owner fetches it
// from the broker (Broker.OwnerRelease). The catalog stores the disk as
// uploaded: it is ciphertext already, and a host gets only the passphrase,
// never a plaintext disk.

// SealedLUKS is the value of X-Imgward-Sealed for such an image's data.
const SealedLUKS = "qcow2-luks"

// qcow2 header fields (QEMU docs/interop/qcow2.txt), big-endian.
const (
	qcowMagic        = "QFI\xfb"
	qcowBackingOff   = 8  // u64: offset of the backing file name, 0 for none
	qcowCryptMethod  = 32 // u32: 0 none, 1 AES (insecure), 2 LUKS
	qcowCryptLUKS    = 2
	qcowHeaderPrefix = 36
)

var notLUKS = errors.Msg(PropProtect + " luks needs a qcow2 disk encrypted with LUKS under the image's key: " +
	"imgward disk encrypt IN.qcow2 OUT.qcow2 --image ID, then upload OUT.qcow2")

// luksKey makes the data key of a luks image at its creation, since the
// owner needs it before the upload; nil for other images.
func (s *Service) luksKey(ctx context.Context, img *imgward.Image) (*imgward.ImageKey, error) {
	if protectMode(img) != imgward.ProtectLUKS {
		return nil, nil
	}
	dk, wrapped, err := s.prot.keys.GenerateDataKey(ctx, s.prot.keyID, []byte(img.ID))
	if err != nil {
		return nil, errors.E(errors.Unavailable, errors.Msg("key service unavailable"), err)
	}
	clear(dk) // kept only wrapped; the broker unwraps it for the owner and hosts
	return &imgward.ImageKey{ImageID: img.ID, Owner: img.Owner, Mode: imgward.ProtectLUKS,
		Wrapped: wrapped, CreatedAt: img.CreatedAt}, nil
}

// checkLUKS checks the first bytes of a luks image's upload: a qcow2 disk
// encrypted with LUKS and without a backing file, which would name a file
// on the host that opens it.
func checkLUKS(head []byte) error {
	if len(head) < qcowHeaderPrefix || !bytes.HasPrefix(head, []byte(qcowMagic)) ||
		binary.BigEndian.Uint32(head[qcowCryptMethod:]) != qcowCryptLUKS {
		return errors.E(errors.Invalid, notLUKS)
	}
	if binary.BigEndian.Uint64(head[qcowBackingOff:]) != 0 {
		return errors.E(errors.Invalid, errors.Msg("qcow2 disks with a backing file are refused: "+
			"qemu-img convert the disk into a standalone one first"))
	}
	return nil
}
