// Command imgward is the one binary of imgward: the server (imgward serve),
// the evaluation harness (imgward eval) and the client commands, spelled
// imgward <noun> <verb>, that talk to a server at $IMGWARD_URL with the
// token in $IMGWARD_TOKEN.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

const usage = `imgward guards the images of an IaaS cloud: a Glance v2 compatible
catalog in which a member's acceptance gates use, sealed images whose keys
the broker releases only to bound instances, and fleet-wide detection of
malicious publishers from introspected instance state.

usage: imgward <noun> <verb> [arguments] [flags]

Server:
  serve                                  run the server (see imgward serve --help)
  eval                                   evaluate the detectors on a dataset
  version                                print the version
  keyprovider                            the ocicrypt key provider (see --help)
  scan FILE [--output json]              list the sensitive entries of a rootfs tar

Client commands:
  project create NAME                    create a project (admin)
  project list                           list projects
  user create NAME --project ID          create a user and print its token, once
  user list [--project ID]               list users (admin)
  user disable USER                      refuse all of a user's tokens at once (admin)
  user enable USER                       let a disabled user in again (admin)
  token create USER [--expires D]        issue another token for a user, shown once (admin)
  token list USER                        list a user's tokens by id, never the secret (admin)
  token revoke USER TOKEN-ID             refuse one token from now on (admin)
  publisher show PROJECT                 show a project's publisher profile
  publisher set PROJECT [flags]          change a publisher profile
  publisher list --risk                  rank judged publishers, riskiest first (admin)
  publisher trust PROJECT                mark a publisher trusted for baselines (admin)
  publisher untrust PROJECT              no longer trust it (admin)
  publisher fleet PROJECT                list a publisher's running instances (admin)
  publisher clear PROJECT                clear a flagged publisher, lift its quarantine (admin)
  image role IMAGE ROLE                  give an image a role, such as web (admin)
  baseline build                         learn per-role baselines from trusted images,
                                         and say why a role was skipped (admin)
  baseline list                          list baseline versions (admin)
  detect run                             score instances, judge publishers, and say
                                         why an instance was not scored (admin)
  flag list [--kind K]                   list flagged publishers (admin)
  flag clear PROJECT                     clear a flagged publisher (admin)
  event list                             list your project's events (all: admin)
  image create NAME [flags]              create an image record
  image upload IMAGE FILE                upload an image's data (FILE - reads stdin)
  image download IMAGE [--out FILE]      download an image's data
  image list [flags]                     list images, all pages
  image show IMAGE                       show an image
  image update IMAGE --set k=v --unset k change an image's attributes
  image delete IMAGE                     delete an image
  image share IMAGE PROJECT              offer an image to a project
  image unshare IMAGE PROJECT            withdraw that offer
  image members IMAGE                    list an image's members
  image accept IMAGE                     accept an image offered to your project
  image reject IMAGE                     reject it
  image fetch IMAGE --identity F --out F fetch a protected image's plaintext
                                         as an instance's host (key broker)
             [--luks-secret-out F]       or a LUKS disk and its secret
  disk encrypt IN OUT --image IMAGE      encrypt a disk with LUKS under the
                                         key of a --protect luks image
  instance launch IMAGE [--host H]       record a launch; prints the instance id
                [--identity-out FILE]    and saves its signed identity document
  instance list [flags]                  list instances
  instance show ID                       show an instance
  instance terminate ID                  terminate an instance
  offer create IMAGE --title T --price P sell an image (sealed if it was not)
  offer list [--title T] [--verified B]  list active offers, all pages
  offer show ID                          show an offer
  offer update ID [--price P] [flags]    change your offer's text or price
  offer withdraw ID                      withdraw it: no new subscriptions
  offer usage ID --from T --to T         per-buyer instance-hours and amounts owed
             [--output csv|json|table]
  subscription create OFFER              subscribe your project to an offer
  subscription list [--as seller]        your subscriptions, or your buyers'
  subscription cancel ID                 cancel: no new launches or key releases
  audit list [--after N] [--limit N]     list audit log entries (admin)
  audit verify [--checkpoint PATH]       check the log against signed checkpoints (admin)
  audit checkpoint --out DIR             append a signed checkpoint to DIR (admin)
  key rotate [--retire]                  rotate the master key of image keys and
                                         re-wrap them; --retire destroys the
                                         older versions (admin)
  identity rotate                        sign identity documents with a new key (admin)

Introspection:
  collect procfs --instance ID --pid P   post snapshots of a process group, from /proc
  collect vmi --instance ID --qmp PATH   post snapshots of a QEMU VM, from its QMP monitor
        [--mem PATH --kernel VMLINUZ]    and from the guest's memory
  vmi ps --qmp P --mem P --kernel K      a QEMU guest's processes, read from its
                                         memory on the host
  vmi sockets --qmp P --mem P --kernel K its TCP and UDP sockets
  vmi modules --qmp P --mem P --kernel K its loaded kernel modules
  replay --file F                        replay a dataset as snapshots (imgward replay --help)
  sim                                    simulate a cloud of publishers (imgward sim --help)

Every client command takes -h/--help and --output table|json (default
table); json prints the server's objects, lists as one array of all pages.

Environment:
  IMGWARD_URL    the server (default http://127.0.0.1:7480)
  IMGWARD_TOKEN  the API token, sent as X-Auth-Token
  IMGWARD_CACERT a PEM file of the CA certificates to trust for an https
                 IMGWARD_URL, instead of the system's

Exit status:
  0  success
  1  the server or the operation failed
  2  usage error
  3  not found
  4  permission denied, or not authenticated
  5  conflict, or already exists
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run runs the command line args and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch name, rest := args[0], args[1:]; name {
	case "-h", "-help", "--help", "help":
		return help(rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, versionString())
		return exitOK
	case "serve":
		return cmdServe(rest, stdout, stderr, getenv)
	case "eval":
		return cmdEval(rest, stdout, stderr)
	case "replay", "sim":
		// Commands without a noun: they run like a noun's verbs.
		c := &replayCommand
		if name == "sim" {
			c = &simCommand
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		e := newEnv(ctx, stdin, stdout, stderr, getenv)
		return e.report(c, c.run(e, rest))
	case "keyprovider":
		return cmdKeyprovider(rest, stdin, stdout, stderr, getenv)
	case "scan":
		e := newEnv(context.Background(), stdin, stdout, stderr, getenv)
		return e.report(&scanCommand, scanCommand.run(e, rest))
	}
	n := findNoun(args[0])
	if n == nil {
		fmt.Fprintf(stderr, "error: unknown command %q\nhint: run 'imgward --help' for the list of commands\n", args[0])
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	e := newEnv(ctx, stdin, stdout, stderr, getenv)
	return e.runNoun(n, args[1:])
}

// help prints the top-level usage, or a noun's with "imgward help NOUN".
func help(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	if n := findNoun(args[0]); n != nil {
		fmt.Fprint(stdout, n.usage())
		return exitOK
	}
	fmt.Fprintf(stderr, "error: unknown command %q\n", args[0])
	return exitUsage
}

// runNoun runs "imgward NOUN VERB ARGS".
func (e *env) runNoun(n *noun, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, n.usage())
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, n.usage())
		return exitOK
	}
	c := n.find(args[0])
	if c == nil {
		fmt.Fprintf(e.stderr, "error: unknown command \"%s %s\"\nhint: run 'imgward %s --help' for its commands\n", n.name, args[0], n.name)
		return exitUsage
	}
	return e.report(c, c.run(e, args[1:]))
}

// versionNumber is the version set at build time, the module's version, or
// "devel".
func versionNumber() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func versionString() string {
	return fmt.Sprintf("imgward %s (%s %s/%s)", versionNumber(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// A noun groups the verbs of one kind of object.
type noun struct {
	name     string
	summary  string
	commands []command
}

// A command is one verb of a noun. Its usage text starts with a synopsis
// line and sits beside its code, in the noun's file.
type command struct {
	verb  string
	usage string
	run   func(e *env, args []string) error
}

var nouns = []*noun{&projectNoun, &userNoun, &tokenNoun, &publisherNoun, &imageNoun, &instanceNoun, &diskNoun, &auditNoun,
	&collectNoun, &vmiNoun, &baselineNoun, &detectNoun, &flagNoun, &eventNoun, &keyNoun, &identityNoun,
	&offerNoun, &subscriptionNoun}

func findNoun(name string) *noun {
	for _, n := range nouns {
		if n.name == name {
			return n
		}
	}
	return nil
}

func (n *noun) find(verb string) *command {
	for i := range n.commands {
		if n.commands[i].verb == verb {
			return &n.commands[i]
		}
	}
	return nil
}

// usage lists the noun's commands by their synopses.
func (n *noun) usage() string {
	var b strings.Builder
	fmt.Fprintf(&b, "imgward %s: %s\n\nusage:\n", n.name, n.summary)
	for _, c := range n.commands {
		fmt.Fprintf(&b, "  %s\n", strings.TrimPrefix(c.synopsis(), "usage: "))
	}
	fmt.Fprintf(&b, "\nRun 'imgward %s VERB --help' for a command's flags.\n", n.name)
	return b.String()
}

// name is the command's name, such as "image create", from its synopsis
// "usage: imgward image create ...".
func (c *command) name() string {
	f := strings.Fields(c.synopsis())
	if len(f) < 4 || f[2] == c.verb { // a top-level command, such as scan
		return c.verb
	}
	return f[2] + " " + f[3]
}

// synopsis is the first line of the usage text.
func (c *command) synopsis() string {
	s, _, _ := strings.Cut(c.usage, "\n")
	return s
}
