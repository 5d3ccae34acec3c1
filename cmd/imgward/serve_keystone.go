package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"imgward/keystone"
)

// keystoneHelp is the part of serve's usage about Keystone.
const keystoneHelp = `
--keystone-url makes imgward an OpenStack service: a token that is not an
imgward token is validated against that Keystone (v3), as keystonemiddleware
does, and cached for its lifetime. imgward authenticates to Keystone as a
service user whose credentials come from --keystone-config, a file in the
form of keystonemiddleware's [keystone_authtoken] section (username,
password, project_name, user_domain_name, project_domain_name), or from
IMGWARD_KEYSTONE_USERNAME, IMGWARD_KEYSTONE_PASSWORD, IMGWARD_KEYSTONE_PROJECT
(and IMGWARD_KEYSTONE_USER_DOMAIN, IMGWARD_KEYSTONE_PROJECT_DOMAIN); never
from the command line. The token's project and user become imgward's,
created on first use; --keystone-admin-role makes an admin and
--keystone-collector-role a collector. imgward's own tokens keep working.
`

// keystoneConfig reads the service credentials for url from file (if set)
// and the environment, the environment winning.
func keystoneConfig(url, file string, getenv func(string) string) (*keystone.Config, string) {
	if url == "" {
		if file != "" {
			return nil, "--keystone-config needs --keystone-url"
		}
		return nil, ""
	}
	cfg := &keystone.Config{URL: url}
	set := map[string]*string{
		"username": &cfg.Username, "password": &cfg.Password, "project_name": &cfg.ProjectName,
		"user_domain_name": &cfg.UserDomain, "project_domain_name": &cfg.ProjectDomain,
	}
	if file != "" {
		if msg := readKeystoneFile(file, set); msg != "" {
			return nil, msg
		}
	}
	for key, env := range map[string]string{"username": "USERNAME", "password": "PASSWORD", "project_name": "PROJECT",
		"user_domain_name": "USER_DOMAIN", "project_domain_name": "PROJECT_DOMAIN"} {
		if v := getenv("IMGWARD_KEYSTONE_" + env); v != "" {
			*set[key] = v
		}
	}
	if cfg.Username == "" || cfg.Password == "" || cfg.ProjectName == "" {
		return nil, "--keystone-url needs the service user's username, password and project_name (--keystone-config or IMGWARD_KEYSTONE_*)"
	}
	return cfg, ""
}

// readKeystoneFile reads key = value lines; [sections], # and ; comments
// and unknown keys are skipped, so that a keystonemiddleware section can be
// used as it is.
func readKeystoneFile(path string, set map[string]*string) string {
	f, err := os.Open(path)
	if err != nil {
		return "cannot read --keystone-config: " + err.Error()
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return "--keystone-config: line " + strconv.Itoa(n) + " is not key = value"
		}
		if p, known := set[strings.TrimSpace(k)]; known {
			*p = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return "cannot read --keystone-config: " + err.Error()
	}
	return ""
}
