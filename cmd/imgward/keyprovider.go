package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/containers/ocicrypt/config"

	"imgward"
	brokerclient "imgward/broker/client"
	"imgward/errors"
	"imgward/seal/ocikey"
)

const keyproviderUsage = `usage: imgward keyprovider

An ocicrypt key provider (the command protocol): it reads one JSON request on
stdin and writes the reply on stdout. skopeo, containerd and CRI-O run it
through an ocicrypt key provider configuration such as

  {"key-providers": {"imgward": {"cmd": {"path": "/usr/bin/imgward", "args": ["keyprovider"]}}}}

named by $OCICRYPT_KEYPROVIDER_CONFIG.

  keywrap    seals a layer's key options under the data key of the image that
             the encryption key names (skopeo --encryption-key
             provider:imgward:IMAGE_ID) and returns the annotation
             org.opencontainers.image.enc.keys.provider.imgward
  keyunwrap  reads the image id from that annotation, obtains the image's data
             key from the key broker for this instance, and opens it

The data key comes from the key broker at $IMGWARD_URL, released to the
instance whose signed identity document is in the file $IMGWARD_IDENTITY; or,
for an owner who holds it, from $IMGWARD_DATA_KEY_FILE (32 bytes, raw or
base64). On any failure it exits non-zero with the reason on stderr.
`

// The key provider protocol of ocicrypt (package keywrap/keyprovider). The
// envelope is declared here because that package also pulls in a gRPC
// client; the configurations inside it are ocicrypt's own types, so that
// their JSON is exactly what ocicrypt sends.
type kpInput struct {
	Op            string `json:"op"`
	KeyWrapParams struct {
		Ec       *config.EncryptConfig `json:"ec"`
		OptsData []byte                `json:"optsdata"`
	} `json:"keywrapparams,omitempty"`
	KeyUnwrapParams struct {
		Dc         *config.DecryptConfig `json:"dc"`
		Annotation []byte                `json:"annotation"`
	} `json:"keyunwrapparams,omitempty"`
}

type kpWrapOutput struct {
	KeyWrapResults struct {
		Annotation []byte `json:"annotation"`
	} `json:"keywrapresults"`
}

type kpUnwrapOutput struct {
	KeyUnwrapResults struct {
		OptsData []byte `json:"optsdata"`
	} `json:"keyunwrapresults"`
}

// maxKPRequest bounds the request: key options and an annotation are small.
const maxKPRequest = 1 << 20

// kpTimeout bounds a whole run, broker call included: ocicrypt waits for
// the command without a deadline of its own.
const kpTimeout = time.Minute

func cmdKeyprovider(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
			fmt.Fprint(stdout, keyproviderUsage)
			return exitOK
		}
		fmt.Fprintf(stderr, "error: unexpected argument %q\n%s", args[0], strings.SplitN(keyproviderUsage, "\n", 2)[0]+"\n")
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), kpTimeout)
	defer cancel()
	out, err := keyprovider(ctx, stdin, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", clean(err.Error()))
		if errors.Is(errors.Permission, err) || errors.Is(errors.Unauthenticated, err) {
			return exitPermission
		}
		return exitError
	}
	stdout.Write(out)
	return exitOK
}

// keyprovider answers one request of the protocol.
func keyprovider(ctx context.Context, stdin io.Reader, getenv func(string) string) ([]byte, error) {
	const op = "keyprovider"
	data, err := io.ReadAll(io.LimitReader(stdin, maxKPRequest+1))
	if err != nil {
		return nil, errors.E(op, err)
	}
	if len(data) > maxKPRequest {
		return nil, errors.E(op, errors.TooLarge, errors.Msg("request too large"))
	}
	var in kpInput
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, errors.E(op, errors.Invalid, errors.Msg("malformed key provider request"), err)
	}
	switch in.Op {
	case "keywrap":
		return keywrap(ctx, &in, getenv)
	case "keyunwrap":
		return keyunwrap(ctx, &in, getenv)
	}
	return nil, errors.E(op, errors.Invalid, errors.Msg(fmt.Sprintf("unknown operation %q", in.Op)))
}

func keywrap(ctx context.Context, in *kpInput, getenv func(string) string) ([]byte, error) {
	const op = "keyprovider keywrap"
	var ids [][]byte
	if ec := in.KeyWrapParams.Ec; ec != nil {
		ids = ec.Parameters[ocikey.Provider]
	}
	if len(ids) != 1 {
		return nil, errors.E(op, errors.Invalid, errors.Msg("name exactly one image: --encryption-key provider:imgward:IMAGE_ID"))
	}
	imageID := string(ids[0])
	key, err := dataKey(ctx, imageID, getenv)
	if err != nil {
		return nil, errors.E(op, err)
	}
	defer clear(key)
	a, err := ocikey.Wrap(key, imageID, in.KeyWrapParams.OptsData)
	if err != nil {
		return nil, errors.E(op, err)
	}
	var out kpWrapOutput
	out.KeyWrapResults.Annotation = a
	return json.Marshal(out)
}

func keyunwrap(ctx context.Context, in *kpInput, getenv func(string) string) ([]byte, error) {
	const op = "keyprovider keyunwrap"
	a := in.KeyUnwrapParams.Annotation
	imageID, err := ocikey.ImageID(a)
	if err != nil {
		return nil, errors.E(op, err)
	}
	key, err := dataKey(ctx, imageID, getenv)
	if err != nil {
		return nil, errors.E(op, err)
	}
	defer clear(key)
	_, opts, err := ocikey.Unwrap(key, a)
	if err != nil {
		return nil, errors.E(op, err)
	}
	var out kpUnwrapOutput
	out.KeyUnwrapResults.OptsData = opts
	return json.Marshal(out)
}

// dataKey returns imageID's data key: from $IMGWARD_DATA_KEY_FILE when set
// (the owner, who holds it), else from the broker for the instance whose
// identity document is in $IMGWARD_IDENTITY.
func dataKey(ctx context.Context, imageID string, getenv func(string) string) ([]byte, error) {
	if f := getenv("IMGWARD_DATA_KEY_FILE"); f != "" {
		return readKeyFile(f)
	}
	idFile := getenv("IMGWARD_IDENTITY")
	if idFile == "" {
		return nil, errors.E(errors.Invalid, errors.Msg("set IMGWARD_IDENTITY to the instance identity document, or IMGWARD_DATA_KEY_FILE"))
	}
	tok, err := os.ReadFile(idFile)
	if err != nil {
		return nil, errors.E(errors.Invalid, errors.Msg("cannot read IMGWARD_IDENTITY"), err)
	}
	base := getenv("IMGWARD_URL")
	if base == "" {
		base = defaultURL
	}
	return brokerclient.Release(ctx, base, string(tok), imageID)
}

// readKeyFile reads a data key file: 32 raw bytes, or their base64.
func readKeyFile(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, errors.E(errors.Invalid, errors.Msg("cannot read IMGWARD_DATA_KEY_FILE"), err)
	}
	defer clear(b)
	if len(b) == imgward.DataKeySize {
		return append([]byte(nil), b...), nil
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != imgward.DataKeySize {
		return nil, errors.E(errors.Invalid, errors.Msg("IMGWARD_DATA_KEY_FILE must hold 32 bytes, raw or base64"))
	}
	return k, nil
}
