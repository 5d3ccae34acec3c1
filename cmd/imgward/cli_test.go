package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
)

// runCLI runs the command line with the given environment and returns its
// output and exit status.
func runCLI(t *testing.T, env map[string]string, stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errb bytes.Buffer
	code = run(args, stdin, &out, &errb, func(k string) string { return env[k] })
	return out.String(), errb.String(), code
}

// offline points the client at a closed port, so that a command that
// should not reach the server fails loudly if it tries.
var offline = map[string]string{"IMGWARD_URL": "http://127.0.0.1:1", "IMGWARD_TOKEN": "t"}

func TestDispatch(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		stdout   string // a substring expected on stdout
		stderr   string // a substring expected on stderr
		noStdout bool
	}{
		{args: nil, code: exitUsage, stderr: "usage: imgward <noun> <verb>", noStdout: true},
		{args: []string{"--help"}, code: exitOK, stdout: "Exit status:"},
		{args: []string{"help"}, code: exitOK, stdout: "image download IMAGE"},
		{args: []string{"help", "image"}, code: exitOK, stdout: "imgward image upload IMAGE FILE"},
		{args: []string{"help", "frob"}, code: exitUsage, stderr: `unknown command "frob"`},
		{args: []string{"version"}, code: exitOK, stdout: "imgward "},
		{args: []string{"frob"}, code: exitUsage, stderr: "error: unknown command \"frob\"\nhint: run 'imgward --help'"},
		{args: []string{"image"}, code: exitUsage, stderr: "image create NAME", noStdout: true},
		{args: []string{"image", "--help"}, code: exitOK, stdout: "image accept IMAGE"},
		{args: []string{"image", "frob"}, code: exitUsage, stderr: `unknown command "image frob"`},
		{args: []string{"image", "create", "--help"}, code: exitOK, stdout: "--disk-format F"},
		{args: []string{"image", "create", "-h"}, code: exitOK, stdout: "usage: imgward image create NAME"},
		{args: []string{"image", "create"}, code: exitUsage, stderr: "error: missing NAME\nusage: imgward image create NAME"},
		{args: []string{"image", "create", "a", "b"}, code: exitUsage, stderr: `error: unexpected argument "b"`},
		{args: []string{"image", "create", "a", "--visibility", "open"}, code: exitUsage, stderr: `--visibility "open"`},
		{args: []string{"image", "create", "a", "--property", "novalue"}, code: exitUsage, stderr: "want KEY=VALUE"},
		{args: []string{"image", "create", "a", "--property", "name=x"}, code: exitUsage, stderr: "is an attribute"},
		{args: []string{"image", "create", "a", "--min-disk", "-1"}, code: exitUsage, stderr: "invalid value"},
		{args: []string{"image", "list", "--output", "yaml"}, code: exitUsage, stderr: "want table or json"},
		{args: []string{"image", "list", "--frob"}, code: exitUsage, stderr: "flag provided but not defined: -frob\n"},
		{args: []string{"image", "update", "x"}, code: exitUsage, stderr: "nothing to change"},
		{args: []string{"image", "update", "x", "--set", "min_disk=big"}, code: exitUsage, stderr: "want a whole number"},
		{args: []string{"image", "upload", "x"}, code: exitUsage, stderr: "missing FILE"},
		{args: []string{"image", "share", "x"}, code: exitUsage, stderr: "missing PROJECT"},
		{args: []string{"user", "create", "bob"}, code: exitUsage, stderr: "--project is required"},
		{args: []string{"user", "create", "bob", "--project", "p", "--role", "root"}, code: exitUsage, stderr: "want admin, member or collector"},
		{args: []string{"user", "create", "bob", "--project", "p", "--hosts", "hv-1"}, code: exitUsage, stderr: "--hosts is for --role collector"},
		{args: []string{"publisher", "set", "p"}, code: exitUsage, stderr: "nothing to change"},
		{args: []string{"publisher", "set", "p", "--verified", "maybe"}, code: exitUsage, stderr: "want true or false"},
		{args: []string{"audit", "list", "--limit", "0"}, code: exitUsage, stderr: "--limit 1 or more"},
		{args: []string{"instance", "show"}, code: exitUsage, stderr: "hint: see 'imgward instance show --help'"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			stdout, stderr, code := runCLI(t, offline, nil, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout %q does not hold %q", stdout, tt.stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q does not hold %q", stderr, tt.stderr)
			}
			if tt.noStdout && stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		args    []string
		names   []string
		ops     []string
		vis     string
		out     outputFormat
		wantErr string
	}{
		{args: []string{"a"}, names: []string{"N"}, ops: []string{"a"}, vis: "shared", out: outputTable},
		{args: []string{"a", "--visibility", "private", "-o", "json"}, names: []string{"N"}, ops: []string{"a"}, vis: "private", out: outputJSON},
		{args: []string{"--visibility=public", "a", "b"}, names: []string{"I", "F"}, ops: []string{"a", "b"}, vis: "public", out: outputTable},
		{args: []string{"a", "-", "--output=json"}, names: []string{"I", "F"}, ops: []string{"a", "-"}, vis: "shared", out: outputJSON},
		{args: []string{"--", "-x"}, names: []string{"N"}, ops: []string{"-x"}, vis: "shared", out: outputTable},
		{args: []string{"a", "--", "--visibility"}, names: []string{"I", "F"}, ops: []string{"a", "--visibility"}, vis: "shared", out: outputTable},
		{args: nil, names: []string{"I", "F"}, wantErr: "missing I F"},
		{args: []string{"a", "b"}, names: nil, wantErr: `unexpected argument "a"`},
		{args: []string{"a", "--visibility"}, names: []string{"N"}, wantErr: "flag needs an argument: -visibility"},
		{args: []string{"--help"}, names: []string{"N"}, wantErr: flag.ErrHelp.Error()},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			e := newEnv(context.Background(), nil, io.Discard, io.Discard, func(string) string { return "" })
			fs := e.flags("test")
			vis := fs.String("visibility", "shared", "")
			ops, err := parse(fs, tt.args, tt.names...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ops, tt.ops) || *vis != tt.vis || e.output != tt.out {
				t.Errorf("ops %q vis %q output %q, want %q %q %q", ops, *vis, e.output, tt.ops, tt.vis, tt.out)
			}
		})
	}
}

// TestUsage checks that each command's usage text starts with its synopsis,
// appears in the top-level usage, and documents every flag it defines.
func TestUsage(t *testing.T) {
	for _, n := range nouns {
		for _, c := range n.commands {
			name := n.name + " " + c.verb
			if !strings.HasPrefix(c.usage, "usage: imgward "+name) {
				t.Errorf("%s: usage starts %q", name, c.synopsis())
			}
			if c.name() != name {
				t.Errorf("%s: name() = %q", name, c.name())
			}
			if !strings.Contains(usage, "\n  "+name) {
				t.Errorf("%s: missing from the top-level usage", name)
			}
			e := newEnv(context.Background(), nil, io.Discard, io.Discard, func(string) string { return "" })
			if err := c.run(e, []string{"--help"}); err != flag.ErrHelp {
				t.Fatalf("%s --help: %v", name, err)
			}
			e.flagSet.VisitAll(func(f *flag.Flag) {
				if f.Name != "o" && !strings.Contains(c.usage, "--"+f.Name) {
					t.Errorf("%s: flag --%s not in its usage text", name, f.Name)
				}
			})
		}
	}
}

func TestSetOp(t *testing.T) {
	tests := []struct {
		in      string
		want    patchOp
		wantErr bool
	}{
		{in: "name=web", want: patchOp{"replace", "/name", "web"}},
		{in: "name=", want: patchOp{"replace", "/name", ""}},
		{in: "os_distro=ubuntu=24", want: patchOp{"add", "/os_distro", "ubuntu=24"}},
		{in: "a/b~c=1", want: patchOp{"add", "/a~1b~0c", "1"}},
		{in: "min_ram=512", want: patchOp{"replace", "/min_ram", uint64(512)}},
		{in: "protected=true", want: patchOp{"replace", "/protected", true}},
		{in: "tags=a, b,,c", want: patchOp{"replace", "/tags", []string{"a", "b", "c"}}},
		{in: "tags=", want: patchOp{"replace", "/tags", []string{}}},
		{in: "min_disk=-1", wantErr: true},
		{in: "min_disk=4294967296", wantErr: true},
		{in: "protected=yes", wantErr: true},
		{in: "=x", wantErr: true},
		{in: "noequals", wantErr: true},
	}
	for _, tt := range tests {
		got, err := setOp(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("setOp(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("setOp(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}
