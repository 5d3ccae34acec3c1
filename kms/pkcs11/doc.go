// Package pkcs11 is a KeyService whose master keys live in an HSM, reached
// through PKCS#11 (github.com/ThalesGroup/crypto11). Master keys are AES-256
// secret keys generated in the token, sensitive and not extractable, labelled
// "<keyID>/v<version>" with CKA_ID "<keyID>"; wrapping is AES-GCM inside the
// token, so no master key ever enters this process.
//
// The package needs cgo and builds only with the build tag pkcs11:
//
//	go build -tags pkcs11 ./...
//
// Without the tag it is empty, and the default build stays pure Go.
//
// CreateKey, Rotate and Retire are serialized within one process; PKCS#11 has
// no atomic create-if-absent, so run them from one process at a time. Every
// other method may run anywhere, concurrently: the token is the only record
// of which keys and versions exist.
package pkcs11
