package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"io"

	"imgward"
	"imgward/errors"
)

// Header is the binding of a sealed image: which image it is, which project
// owns it, and which KMS key wraps its data key. It is stored in the clear,
// so that the broker can compare it with the catalog before it releases the
// data key, and authenticated by that key, so that an image whose binding
// was edited does not open.
//
// Each field is 1 to its Max*Len bytes of printable ASCII without spaces, so
// that no two bindings look alike in a log. The format asks no more: the
// stricter rules of imgward's ids are the catalog's and the KMS's to keep.
type Header struct {
	ImageID    imgward.ImageID
	Owner      imgward.ProjectID
	KeyID      imgward.KeyID // the KMS master key that wraps the data key
	KeyVersion uint32        // the version of that key
}

// The limits on the fields of a Header.
const (
	MaxImageIDLen = 64
	MaxOwnerLen   = 64
	MaxKeyIDLen   = 128

	// MaxHeaderSize bounds the encoded header, MAC included.
	MaxHeaderSize = fixedLen + 3 + MaxImageIDLen + MaxOwnerLen + MaxKeyIDLen + 4 + macSize

	fixedLen = len(Magic) + 1 + 4 + saltSize // magic, version, chunk size, salt
)

// rawHeader is a header as it was read: its fields, its salt, its encoding
// up to the MAC (which the MAC and the key derivation cover), and its MAC.
type rawHeader struct {
	Header
	salt []byte
	body []byte
	mac  []byte
}

// check reports the first field of h that breaks the limits.
func (h Header) check() error {
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"image id", string(h.ImageID), MaxImageIDLen},
		{"owner", string(h.Owner), MaxOwnerLen},
		{"key id", string(h.KeyID), MaxKeyIDLen},
	} {
		if !validField(f.v, f.max) {
			return errors.Errorf("%s must be 1 to %d printable ASCII characters", f.name, f.max)
		}
	}
	return nil
}

func validField(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func (h Header) encodedLen() int {
	return fixedLen + 3 + len(h.ImageID) + len(h.Owner) + len(h.KeyID) + 4
}

// encode returns h's encoding with salt, up to and not including the MAC.
func (h Header) encode(salt []byte) []byte {
	b := make([]byte, 0, h.encodedLen()+macSize)
	b = append(b, Magic...)
	b = append(b, Version)
	b = binary.BigEndian.AppendUint32(b, ChunkSize)
	b = append(b, salt...)
	for _, s := range []string{string(h.ImageID), string(h.Owner), string(h.KeyID)} {
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	return binary.BigEndian.AppendUint32(b, h.KeyVersion)
}

// keys derives a file's chunk cipher and header MAC key from the data key,
// the salt, and the header: a changed header field gives other keys.
func keys(dataKey, salt, body []byte) (cipher.AEAD, []byte) {
	k, err := hkdf.Key(sha256.New, dataKey, salt, "imgward-seal-v1\x00"+string(body), 2*KeySize)
	if err != nil {
		panic(err) // only for a bad length, a constant here
	}
	defer clear(k)
	block, err := aes.NewCipher(k[:KeySize])
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead, append([]byte(nil), k[KeySize:]...)
}

func headerMAC(macKey, body []byte) []byte {
	m := hmac.New(sha256.New, macKey)
	m.Write(body)
	return m.Sum(nil)
}

// begin checks a writer's arguments and returns the chunk cipher and the
// encoded header, MAC included.
func begin(op string, dataKey []byte, h Header, salt []byte) (cipher.AEAD, []byte, error) {
	if err := checkKey(op, dataKey); err != nil {
		return nil, nil, err
	}
	if err := h.check(); err != nil {
		return nil, nil, errors.E(op, errors.Invalid, errors.Msg(err.Error()))
	}
	body := h.encode(salt)
	aead, macKey := keys(dataKey, salt, body)
	defer clear(macKey)
	return aead, append(body, headerMAC(macKey, body)...), nil
}

func newSalt() []byte {
	s := make([]byte, saltSize)
	rand.Read(s) // never fails
	return s
}

// ParseHeader reads a sealed image's header from r, and no further, without
// a key. The fields are unauthenticated until the image is opened with its
// data key: use them only to choose that key and to check the binding.
func ParseHeader(r io.Reader) (*Header, error) {
	rh, err := readHeader("seal.ParseHeader", r)
	if err != nil {
		return nil, err
	}
	return &rh.Header, nil
}

// OpenHeader reads a sealed image's header from r, and no further, and
// authenticates it with dataKey: ErrAuth when the key is wrong or the header
// was edited. The broker can so check, before it releases a data key, that
// the key belongs to the header and the header to the catalog's binding:
// ParseHeader alone proves neither, since anyone can rewrite a header.
func OpenHeader(r io.Reader, dataKey []byte) (*Header, error) {
	const op = "seal.OpenHeader"
	rh, err := readHeader(op, r)
	if err != nil {
		return nil, err
	}
	if _, err := rh.open(op, dataKey); err != nil {
		return nil, err
	}
	return &rh.Header, nil
}

// readHeader reads and checks the structure of a header, byte by byte
// against the limits, so that it never reads more than MaxHeaderSize.
func readHeader(op string, r io.Reader) (*rawHeader, error) {
	rh := &rawHeader{body: make([]byte, fixedLen, MaxHeaderSize)}
	if err := readFull(op, r, rh.body); err != nil {
		return nil, err
	}
	switch {
	case string(rh.body[:len(Magic)]) != Magic:
		return nil, formatError(op, "not a sealed image")
	case rh.body[len(Magic)] != Version:
		return nil, formatError(op, "unsupported version")
	case binary.BigEndian.Uint32(rh.body[len(Magic)+1:]) != ChunkSize:
		return nil, formatError(op, "unsupported chunk size")
	}
	rh.salt = rh.body[fixedLen-saltSize:]
	var fields [3]string
	for i, max := range []int{MaxImageIDLen, MaxOwnerLen, MaxKeyIDLen} {
		s, err := readField(op, r, &rh.body, max)
		if err != nil {
			return nil, err
		}
		fields[i] = s
	}
	rh.ImageID, rh.Owner, rh.KeyID = imgward.ImageID(fields[0]), imgward.ProjectID(fields[1]), imgward.KeyID(fields[2])
	n := len(rh.body)
	rh.body = rh.body[:n+4+macSize]
	if err := readFull(op, r, rh.body[n:]); err != nil {
		return nil, err
	}
	rh.KeyVersion = binary.BigEndian.Uint32(rh.body[n:])
	rh.body, rh.mac = rh.body[:n+4], rh.body[n+4:]
	return rh, nil
}

// readField reads a length-prefixed field into *body and returns it.
func readField(op string, r io.Reader, body *[]byte, max int) (string, error) {
	b := *body
	n := len(b)
	b = b[:n+1]
	if err := readFull(op, r, b[n:]); err != nil {
		return "", err
	}
	l := int(b[n])
	if l == 0 || l > max {
		return "", formatError(op, "header field too long or empty")
	}
	b = b[:n+1+l]
	if err := readFull(op, r, b[n+1:]); err != nil {
		return "", err
	}
	*body = b
	s := string(b[n+1:])
	if !validField(s, max) {
		return "", formatError(op, "header field not printable ASCII")
	}
	return s, nil
}

func readFull(op string, r io.Reader, b []byte) error {
	_, err := io.ReadFull(r, b)
	switch err {
	case nil:
		return nil
	case io.EOF, io.ErrUnexpectedEOF:
		return formatError(op, "short header")
	}
	return errors.E(op, err)
}

// open authenticates the header with the data key and returns the file's
// chunk cipher.
func (rh *rawHeader) open(op string, dataKey []byte) (cipher.AEAD, error) {
	if err := checkKey(op, dataKey); err != nil {
		return nil, err
	}
	aead, macKey := keys(dataKey, rh.salt, rh.body)
	defer clear(macKey)
	if !hmac.Equal(headerMAC(macKey, rh.body), rh.mac) {
		return nil, authError(op)
	}
	return aead, nil
}
