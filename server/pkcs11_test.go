//go:build pkcs11

package server_test

import (
	"os"
	"testing"

	"imgward/server"
)

// TestRobberyPKCS11 runs the robbery story with the images' master key in
// a real SoftHSM2 token (scripts/softhsm-test.sh), as a larger cloud would
// keep it in an HSM.
func TestRobberyPKCS11(t *testing.T) {
	module, token := os.Getenv("IMGWARD_TEST_PKCS11_MODULE"), os.Getenv("IMGWARD_TEST_PKCS11_TOKEN")
	if module == "" || os.Getenv("IMGWARD_TEST_PKCS11_PIN") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no PKCS#11 token: run eval \"$(scripts/softhsm-test.sh)\"")
		}
		t.Skip("no PKCS#11 token: run eval \"$(scripts/softhsm-test.sh)\"")
	}
	robbery(t, newCloudWith(t, func(cfg *server.Config) {
		cfg.Protection.KMS = "pkcs11"
		cfg.Protection.PKCS11Module = module
		cfg.Protection.PKCS11Token = token
		cfg.Protection.PKCS11PIN = "env:IMGWARD_TEST_PKCS11_PIN"
	}))
}
