package fingerprint

import (
	"encoding/binary"

	"imgward/errors"
)

// sumLen is the encoded size of a Sum: the hash, then the size as a
// big-endian uint32.
const sumLen = 32 + 4

// MarshalBinary encodes f for a store: its sums in hash order, sumLen bytes
// each. Parse reverses it.
func (f *Fingerprint) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, len(f.sums)*sumLen)
	for _, s := range f.sums {
		b = append(b, s.Hash[:]...)
		b = binary.BigEndian.AppendUint32(b, s.Size)
	}
	return b, nil
}

// Parse decodes a fingerprint encoded by MarshalBinary. A length that is
// not a multiple of the sum size is Invalid: the record was cut.
func Parse(b []byte) (*Fingerprint, error) {
	if len(b)%sumLen != 0 {
		return nil, errors.E("fingerprint.Parse", errors.Invalid, errors.Msg("malformed fingerprint"))
	}
	sums := make([]Sum, len(b)/sumLen)
	for i := range sums {
		r := b[i*sumLen:]
		copy(sums[i].Hash[:], r[:32])
		sums[i].Size = binary.BigEndian.Uint32(r[32:])
	}
	return fromSums(sums), nil
}
