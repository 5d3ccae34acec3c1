package sensitive

import (
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	const rsaPub = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 alice@example\n"
	tests := []struct {
		name, path, content string
		kind                string // "" for not sensitive
	}{
		{"PEM RSA key", "root/key.pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----\n", KindPrivateKey},
		{"PKCS#8 key", "srv/tls.key", "-----BEGIN PRIVATE KEY-----\nMIIE\n", KindPrivateKey},
		{"encrypted PKCS#8", "srv/tls.key", "x\n-----BEGIN ENCRYPTED PRIVATE KEY-----\n", KindPrivateKey},
		{"EC key in a bundle", "etc/app/bundle.pem", "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n-----BEGIN EC PRIVATE KEY-----\n", KindPrivateKey},
		{"OpenSSH key", "home/bob/.ssh/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n", KindOpenSSHKey},
		{"public key", "home/bob/.ssh/id_ed25519.pub", rsaPub, ""},
		{"PEM public key", "etc/pki/pub.pem", "-----BEGIN PUBLIC KEY-----\nMFkw\n", ""},
		{"certificate", "etc/ssl/certs/ca.pem", "-----BEGIN CERTIFICATE-----\nMII\n", ""},
		{"SSH host key by path", "/etc/ssh/ssh_host_ed25519_key", "", KindSSHHostKey},
		{"SSH host key, ./ prefix", "./etc/ssh/ssh_host_rsa_key", "", KindSSHHostKey},
		{"SSH host public key", "etc/ssh/ssh_host_rsa_key.pub", rsaPub, ""},
		{"shadow with a hash", "etc/shadow", "root:*:19000:0:99999:7:::\nbob:$6$salt$hashhashhashhash:19000:0:99999:7:::\n", KindShadow},
		{"shadow, locked hash", "etc/shadow", "bob:!$y$j9T$abcdefghijklmnop:19000::::::\n", KindShadow},
		{"shadow, DES hash", "etc/shadow", "old:abJnggxhB/yWI:19000::::::\n", KindShadow},
		{"shadow without hashes", "etc/shadow", "root:*:19000:0:99999:7:::\ndaemon:!:19000::::::\nbin:!!:1::::::\nx:x:1::::::\nnopw::1::::::\n", ""},
		{"shadow-like elsewhere", "usr/share/doc/shadow.txt", "bob:$6$salt$hashhashhashhash:1::::::\n", ""},
		{"AWS credentials", "root/.aws/credentials", "[default]\naws_access_key_id = AKIA\naws_secret_access_key = abc\n", KindAWS},
		{"AWS credentials, no secret", "root/.aws/credentials", "[default]\naws_access_key_id = AKIA\naws_secret_access_key =\n", ""},
		{"docker auths", "root/.docker/config.json", `{"auths":{"registry.example":{"auth":"Ym9iOnB3"}}}`, KindDocker},
		{"docker helper only", "root/.docker/config.json", `{"auths":{"registry.example":{}},"credsStore":"pass"}`, ""},
		{"kubeconfig", "root/.kube/config", "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    token: eyJhbGc\n", KindKubeconfig},
		{"kubeconfig anywhere", "opt/app/admin.conf", "kind: Config\nusers:\n- name: a\n  user:\n    client-key-data: LS0t\n", KindKubeconfig},
		{"kubeconfig without users' secrets", "root/.kube/config", "kind: Config\nusers:\n- name: a\n  user:\n    exec:\n      command: aws\n", ""},
		{".env with a secret", "srv/app/.env", "PORT=8080\nDB_PASSWORD=hunter2\n", KindEnv},
		{".env.production", "srv/app/.env.production", "export STRIPE_API_KEY='sk_live_x'\n", KindEnv},
		{".env with empty secret", "srv/app/.env", "DB_PASSWORD=\nPORT=1\n", ""},
		{".env.example", "srv/app/.env.example", "DB_PASSWORD=changeme\n", ""},
		{".env comment", "srv/app/.env", "# TOKEN=abc\n", ""},
		{"licence", "opt/vendor/product.lic", "LICENSE KEY 1234", KindLicence},
		{"licence.key", "opt/vendor/licence.key", "1234", KindLicence},
		{"LICENSE text", "usr/share/doc/pkg/LICENSE", "MIT License", ""},
		{"plain file", "etc/hostname", "web-1\n", ""},
	}
	var s Scanner
	for _, tc := range tests {
		kind, reason, ok := s.Classify(tc.path, []byte(tc.content))
		if kind != tc.kind || ok != (tc.kind != "") {
			t.Errorf("%s: Classify(%q) = %q, %q, %v; want %q", tc.name, tc.path, kind, reason, ok, tc.kind)
		}
		if ok && reason == "" {
			t.Errorf("%s: no reason", tc.name)
		}
	}
}

func TestClassifyConfig(t *testing.T) {
	s := Scanner{LicenceGlobs: []string{"opt/acme/*.dat"}}
	if k, _, _ := s.Classify("opt/acme/seat.dat", []byte("x")); k != KindLicence {
		t.Errorf("configured glob: kind %q", k)
	}
	if _, _, ok := s.Classify("opt/vendor/product.lic", []byte("x")); ok {
		t.Error("configured globs replace the defaults")
	}
	// A large file is judged by its path alone: nil content.
	if _, _, ok := s.Classify("root/key.pem", nil); ok {
		t.Error("content rule without content")
	}
	if k, _, _ := s.Classify("etc/ssh/ssh_host_ecdsa_key", nil); k != KindSSHHostKey {
		t.Error("path rule needs content")
	}
	if _, _, ok := s.Classify("a/../etc/ssh/ssh_host_x_key", []byte(strings.Repeat("a", 10))); !ok {
		t.Error("path not cleaned")
	}
}
