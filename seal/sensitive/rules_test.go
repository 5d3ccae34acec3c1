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
		{"PEM RSA key", "root/key.pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7l9mZ2G3n1kd\n-----END RSA PRIVATE KEY-----\n", KindPrivateKey},
		{"PKCS#8 key", "srv/tls.key", "-----BEGIN PRIVATE KEY-----\r\nMIIEvQIBADANBgkqhkiG9w0B\r\n", KindPrivateKey},
		{"encrypted PKCS#8", "srv/tls.key", "x\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0w\n", KindPrivateKey},
		{"EC key in a bundle", "etc/app/bundle.pem", "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk\n", KindPrivateKey},
		{"encrypted PKCS#1", "root/old.key", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0A1B2C3D4E5F\n\nQ0FGRUJBQkUwMTIzNDU2Nzg5\n", KindPrivateKey},
		{"key in JSON", "srv/sa.json", `{"private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n-----END PRIVATE KEY-----\n"}`, KindPrivateKey},
		{"code naming the marker", "usr/lib/python3/ssh.py", "_SK_START = b\"-----BEGIN OPENSSH PRIVATE KEY-----\"\n_SK_END = b\"-----END OPENSSH PRIVATE KEY-----\"\n", ""},
		{"empty PEM block", "usr/share/doc/x.txt", "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n", ""},
		{"OpenSSH key", "home/bob/.ssh/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n", KindOpenSSHKey},
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
		// A crypt(3) hash in a shadow-shaped line is sealed under any name:
		// backups, and the target of a hard link named etc/shadow.
		{"shadow-like elsewhere", "usr/share/doc/shadow.txt", "bob:$6$salt$hashhashhashhash:1::::::\n", KindShadow},
		{"Debian's shadow backup", "var/backups/shadow.bak", "root:$y$j9T$abcdefghijklmnop$q:19000:0:99999:7:::\n", KindShadow},
		{"htpasswd", "etc/nginx/.htpasswd", "alice:$apr1$abcdefgh$0123456789abcdefghij\n", KindShadow},
		{"passwd without hashes", "etc/passwd", "root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/sh\n", ""},
		{"shadow backup etc/shadow-", "etc/shadow-", "old:abJnggxhB/yWI:19000::::::\n", KindShadow},
		{"gshadow backup", "etc/gshadow-", "sudo:!$6$abcdefgh$0123456789abcdef::bob\n", KindShadow},
		{"gshadow without hashes", "etc/gshadow", "sudo:*::bob\nadm:!::\n", ""},
		{"shadow under a prefix", "rootfs/etc/shadow", "old:abJnggxhB/yWI:19000::::::\n", KindShadow},
		{"shadow under ./x", "./x/etc/shadow", "old:abJnggxhB/yWI:19000::::::\n", KindShadow},
		{"DES hash outside etc/shadow", "srv/shadow", "old:abJnggxhB/yWI:19000::::::\n", ""},
		{"PGP private key", "root/backup.asc", "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQdGBFxyzABCDEFGHIJKLMNOP\n", KindPGPKey},
		{"PGP public key", "etc/apt/trusted.gpg.d/x.asc", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQIN\n", ""},
		{"GnuPG key store", "home/bob/.gnupg/private-keys-v1.d/0123ABCD.key", "", KindPGPKey},
		{"GnuPG 1 secring", "rootfs/root/.gnupg/secring.gpg", "", KindPGPKey},
		{"PuTTY key by content", "home/bob/work/server", "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n", KindPuTTYKey},
		{"PuTTY key by name", "home/bob/id.ppk", "", KindPuTTYKey},
		{"SSH1 key", "root/.ssh/identity", "SSH PRIVATE KEY FILE FORMAT 1.1\n\x00", KindOpenSSHKey},
		{"PKCS#12", "etc/pki/server.p12", "0\x82", KindPrivateKey},
		{"Java keystore", "opt/app/conf/app.jks", "\xfe\xed\xfe\xed", KindPrivateKey},
		{"TLS key anywhere", "usr/local/share/app/x", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk\n", KindPrivateKey},
		{"SSH host key under a prefix", "rootfs/etc/ssh/ssh_host_rsa_key", "", KindSSHHostKey},
		{".pgpass", "root/.pgpass", "# host:port:db:user:pw\ndb.internal:5432:*:app:s3cret\n", KindPassword},
		{".pgpass with escaped colon", "root/.pgpass", "db:5432:*:app:a\\:b\n", KindPassword},
		{".pgpass without password", "root/.pgpass", "db:5432:*:app:\n", ""},
		{".netrc", "home/bob/.netrc", "machine api.example.com\n  login bob\n  password hunter2\n", KindPassword},
		{".netrc without password", "home/bob/.netrc", "machine api.example.com login bob\n", ""},
		{"_netrc", "Users/bob/_netrc", "machine m login l password p", KindPassword},
		{".git-credentials", "home/bob/.git-credentials", "https://bob:ghp_abcdef0123456789@github.com\n", KindPassword},
		{"git credential store in XDG", "home/bob/.config/git/credentials", "https://bob:pw@git.example\n", KindPassword},
		{".git-credentials without password", "home/bob/.git-credentials", "https://github.com\n", ""},
		{"AWS config with a key", "root/.aws/config", "[profile x]\naws_secret_access_key = abc\n", KindCloud},
		{"AWS secret anywhere", "opt/app/settings.ini", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", KindCloud},
		{"AWS placeholder anywhere", "usr/share/doc/aws/README", "aws_secret_access_key = YOUR_SECRET_KEY\n", ""},
		{"gcloud credentials.db", "root/.config/gcloud/credentials.db", "SQLite format 3\x00", KindCloud},
		{"gcloud access tokens", "home/bob/.config/gcloud/access_tokens.db", "", KindCloud},
		{"gcloud ADC", "root/.config/gcloud/application_default_credentials.json", "{}", KindCloud},
		{"gcloud legacy", "root/.config/gcloud/legacy_credentials/bob@example.com/adc.json", "{}", KindCloud},
		{"gcloud config", "root/.config/gcloud/configurations/config_default", "[core]\naccount = bob\n", ""},
		{"OAuth code naming the fields", "usr/lib/python3/oauthlib/common.py", `params = ("refresh_token", "client_secret")`, ""},
		{"OAuth refresh token anywhere", "srv/adc.json", `{"client_id":"x","client_secret":"d-FL95Q19q7MQmFpd7hHD0Ty","refresh_token":"1//0gAbCdEfGhIjKlMnOpQr","type":"authorized_user"}`, KindCloud},
		{"kubeconfig by path, no kind", "home/bob/.kube/config", "users:\n- name: a\n  user:\n    token: abc\n", KindKubeconfig},
		{"docker config.json under a prefix", "rootfs/root/.docker/config.json", `{"auths":{"r":{"auth":"eA=="}}}`, KindDocker},
		{"podman auth.json", "run/containers/0/auth.json", `{"auths":{"r":{"auth":"eA=="}}}`, KindDocker},
		{"old .dockercfg", "root/.dockercfg", `{"r.example":{"auth":"eA==","email":"a@b"}}`, KindDocker},
		{"config.json of something else", "etc/app/config.json", `{"listen":":80"}`, ""},
		{"GitHub token in a unit", "etc/systemd/system/app.service.d/token.conf", "[Service]\nEnvironment=GITHUB_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345\n", KindToken},
		{"Slack token in YAML", "opt/bot/config.yaml", "slack:\n  token: xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx\n", KindToken},
		{"Stripe test key", "srv/app/config.js", "stripe('sk_test_0123456789abcdefghijklmn')", ""},
		{"prod.env", "srv/app/prod.env", "DB_PASSWORD=x\n", KindEnv},
		{"AWS credentials", "root/.aws/credentials", "[default]\naws_access_key_id = AKIA\naws_secret_access_key = abc\n", KindCloud},
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
		{"script with :$PATH", "etc/profile", "export PATH=/usr/bin:$PATH\nX=a:!b\nY=c:$HOME/bin\n", ""},
		{"htpasswd with CRLF, among lines", "srv/.htpasswd", "# users\r\nPATH=/x:$y\r\na:$apr1$abcdefgh$0123456789abcdefghij\r\n", KindShadow},
		{"token in a binary", "usr/bin/tool", "\x7fELF\x00ghp_0123456789abcdefghijABCDEFGHIJ012345", ""},
		{"PEM key in a binary", "usr/lib/libx.so", "\x7fELF\x00-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n", KindPrivateKey},
		{"empty name", "", "web-1\n", ""},
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
