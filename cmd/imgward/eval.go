package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"imgward/detect"
	"imgward/detect/pipeline"
	"imgward/detect/trace"
	"imgward/evaluate"
)

const evalUsage = `usage: imgward eval --train FILE --test FILE --label-col COL --normal VALUE
                    [--train-where COL=VALUE] [--holdout F [--split-seed N]] [--family-col COL]
                    [--sequence-col COL [--models LIST] [--combine RULE] [--order N] [--call-set] [--neural] [--recurrent]]
                    [--detector NAME]
                    [--fleet publishers=P,malicious=M,images=I,instances=K,infected=F,repeat=R,seed=S]
                    [--protocol loafo [--folds K] [--candidates RE]] [--json]

Trains an anomaly detector on the rows of --train whose --label-col is --normal
(and that match every --train-where), scores the rows of --test, and reports
ROC AUC and the true-positive rate at a false-positive rate of at most 1%%.
A row is anomalous when its label is not --normal. Rows are scored as the
service scores instances (package detect/pipeline): each becomes the snapshot
that imgward replay sends, and the training rows a role's baseline.

No test row is a training row: when --test is the --train file, the rows the
detector trained on are left out of the test rows. --holdout F leaves a
fraction F of the training rows out of training (chosen by --split-seed,
default 1), so that they are test rows too. --family-col names the column of
the anomalous rows' family (an attack or malware family); each family is then
also reported on its own against all the normal test rows.

Protocols reported in docs/EVALUATION.md (from the project root):
  ADFA-LD: train on the 833 set=train traces, test on the 2,186 validation
  traces and the 429 attacks, per family and pooled:
    imgward eval --train ../shared/data/adfa-ld/adfa-ld-dev.csv \
      --test ../shared/data/adfa-ld/adfa-ld-dev.csv --train-where set=train \
      --sequence-col syscalls --label-col label --normal normal --family-col family
  CIC-MalMem-2022: train on half of the 2,000 Benign rows (--split-seed 1),
  test on the other half and each malware family:
    imgward eval --train ../shared/data/cic-malmem-2022/malmem-dev.csv \
      --test ../shared/data/cic-malmem-2022/malmem-dev.csv --holdout 0.5 \
      --label-col Class --normal Benign --family-col Category

--protocol loafo selects a configuration by leave-one-family-out instead: it
splits the training rows into --folds K folds (default 5), trains on the other
folds (normal rows only), scores each family of --train's anomalous rows on its
own against the held-out fold, and judges each candidate configuration by its
worst family. It prints every candidate's cross-validated AUC per family, the
one to ship (best worst family over all families) and, for each family, the one
chosen on the other families only. Each family's test figure (on the rows of
--test not trained on) is that of the configuration chosen without it. Candidates: the sequence models
and their combinations with --sequence-col, else the detectors. Takes 25 to 45
minutes on ADFA-LD on a shared 2-core machine.

Features are the columns that parse as numbers in every row of --train, except
the label, family, sequence and --train-where columns. --sequence-col names a
column of space-separated integers (a system-call trace), scored by models of
the training traces (package detect/trace), named by --models:
  nll     mean surprise of each call under an n-gram model of order --order (6)
  unseen  fraction of the trace's n-grams never seen in training (STIDE)
  lfc     locality frame count: most unseen n-grams among 20 successive ones
  peak    highest mean surprise of any 20 successive calls under the n-gram model
  calls   1 - cosine similarity of the trace's set of calls to the nearest
          training trace's
  pairs   the same for log(1 + count) of each pair of successive calls
  local   mean surprise of each call under an n-gram model of order --order of
          the 10 training traces nearest by set of calls (its program's)
  shape   distance of the trace's length and repetition (LZ78 complexity,
          distinct 3-grams, transition entropy, longest tight loop) to those
          of the 5 training traces nearest by set of calls
  length  the same for its length alone
  loops   the same for its repetition alone, to every training trace
  cover   segments per call of the greedy covering of the trace by contiguous
          runs of the training traces, each as long as it matches
  covnear the same against the 10 training traces nearest by set of calls
  match10 1 - mean length, capped at 10 (match20: 20) and divided by it, of
          the longest run of a training trace that ends at each call
  matchlow the same, capped at 20, over the lowest tenth of those lengths
  cnll    nll's residual given calls: how much more surprising the trace is
          than training traces as far by calls (binned medians, monotone,
          fitted on the training traces' cross-fitted scores)
  cunseen the same for unseen
By default (--models %s) the detector, ECODX for traces, gets each
model's score as a feature: the configuration that leave-one-family-out
selection chose on ADFA-LD, and the service's for a role with traces.
--call-set adds the set features of the trace's distinct calls
(syscalls.count, syscalls.novel), which the service scored beside them before.
--combine min makes the models' scores one feature, seq.novelty, the smallest
of their robust z-scores (novel to every model); --combine fisher, the sum of
-ln of their tail probabilities among the training traces' scores.
--neural and --recurrent add the surprise under a feed-forward and a recurrent
(GRU) neural language model; both train small networks on all cores (45 s to 2
minutes for 833 traces on 2 cores) and are deterministic. A plain STIDE
baseline is --models unseen; the service's former defaults, --models
nll,unseen,calls,pairs --call-set --detector ensemble and, before them,
--models nll,unseen --call-set --detector ensemble; the previous default for
traces, --models unseen,calls --detector ecod.

--fleet deals the test rows into P publishers x I images x K instances: the
instances of M malicious publishers draw an anomalous row with probability F
and a normal row otherwise, the others draw normal rows. Each instance's score
becomes a tail probability against the training scores, the publisher's unified
state (package fleet) keeps the mean of -ln p over its instances (Fisher's
combination), and publishers are ranked by it. Metrics are averaged over R
repeats seeded from S. Defaults: publishers=20,malicious=2,images=3,instances=10,
infected=0.3,repeat=5,seed=1.

Detectors: zscore (mean robust z-score against median and MAD), hbos
(histograms), ecod (empirical tail probabilities), ecodx (ecod with
exponential tails beyond each feature's training range, so that values far
beyond it do not tie with values barely beyond), copula (squared Mahalanobis
distance of the features' normal scores, which weighs the features jointly),
iforest (isolation forest, 100 trees of 256 rows), ensemble (zscore, hbos,
ecod and iforest, each standardised on its training scores, averaged). Fits
are seeded and deterministic.

Options:
  --train FILE            training CSV file (a header line, then rows)
  --test FILE             CSV file to score; may be the --train file
  --label-col COL         column of the labels
  --normal VALUE          label of normal rows; any other label is anomalous
  --train-where COL=VALUE train only on rows with this value (repeatable)
  --holdout F             leave a fraction F of the training rows out (as test rows)
  --split-seed N          seed of --holdout's choice (default 1)
  --family-col COL        column of the anomalous rows' family: per-family metrics
  --sequence-col COL      column of system-call traces
  --models LIST           comma-separated sequence models (above)
  --combine RULE          sep, min or fisher (above)
  --order N               n-gram order of nll, unseen, lfc, peak and local (default 6)
  --call-set              add the set features of a trace's distinct calls
  --neural                add a neural language model's surprise
                          (slower: trains 6 small networks)
  --recurrent             add a recurrent language model's surprise
                          (slower: trains 3 small GRUs)
  --detector NAME         %s (default %s; with --sequence-col, %s)
  --fleet SPEC            evaluate publishers too, as above
  --protocol loafo        select by leave-one-family-out (needs --family-col)
  --folds K               folds of --protocol loafo (default 5)
  --candidates RE         compare only the candidates whose names match the
                          regular expression RE (while developing a model; a
                          reported choice compares them all)
  --json                  print one JSON object instead of a table
  --help                  print this help
`

// cmdEval runs `imgward eval` with args (without the program and command
// names). It returns the exit code: 0 on success, 1 when the evaluation
// fails, 2 on bad usage.
func cmdEval(args []string, stdout, stderr io.Writer) int {
	o, proto, asJSON, err := parseEval(args)
	if err == flag.ErrHelp {
		fmt.Fprintf(stdout, evalUsage, describeDefault(), strings.Join(detect.Names(), "|"), detect.DefaultName,
			cmp.Or(pipeline.DefaultTraceFeatures().Detector, detect.DefaultName))
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\nhint: imgward eval --help\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var res any
	var table func(io.Writer)
	if proto.protocol == "loafo" {
		sel, err := evaluate.Select(ctx, o, proto.candidates(o), proto.folds)
		if err != nil {
			fmt.Fprintf(stderr, "error: %v\n", err)
			return exitError
		}
		res, table = sel, func(w io.Writer) { printSelection(w, sel) }
	} else {
		r, err := evaluate.Run(ctx, o)
		if err != nil {
			fmt.Fprintf(stderr, "error: %v\n", err)
			return exitError
		}
		res, table = r, func(w io.Writer) { printResult(w, r, o) }
	}
	if !asJSON {
		table(stdout)
		return exitOK
	}
	b, err := json.Marshal(res)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "%s\n", b)
	return exitOK
}

// parseEval parses eval's flags into options; it returns flag.ErrHelp for
// --help.
func parseEval(args []string) (o evaluate.Options, sel selection, asJSON bool, err error) {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Train, "train", "", "")
	fs.StringVar(&o.Test, "test", "", "")
	fs.StringVar(&o.LabelCol, "label-col", "", "")
	fs.StringVar(&o.Normal, "normal", "", "")
	fs.Func("train-where", "", func(s string) error {
		col, val, ok := strings.Cut(s, "=")
		if !ok || col == "" {
			return fmt.Errorf("want COL=VALUE, got %q", s)
		}
		o.Where = append(o.Where, evaluate.Where{Col: col, Value: val})
		return nil
	})
	fs.Float64Var(&o.Holdout, "holdout", 0, "")
	fs.Uint64Var(&o.SplitSeed, "split-seed", 1, "")
	fs.StringVar(&o.FamilyCol, "family-col", "", "")
	fs.StringVar(&o.SequenceCol, "sequence-col", "", "")
	fs.Func("combine", "", func(s string) error {
		o.Combine, err = trace.ParseCombine(s)
		return err
	})
	fs.Func("models", "", func(s string) error {
		o.Models, err = trace.ParseModels(s)
		return err
	})
	fs.IntVar(&o.Order, "order", 0, "")
	fs.BoolVar(&o.Neural, "neural", false, "")
	fs.BoolVar(&o.Recurrent, "recurrent", false, "")
	fs.BoolFunc("call-set", "", func(s string) error {
		on, err := strconv.ParseBool(s)
		o.Features = &pipeline.TraceFeatures{CallSet: on}
		return err
	})
	fs.StringVar(&o.Detector, "detector", "", "")
	fs.Func("fleet", "", func(s string) error {
		o.Fleet, err = parseFleetSpec(s)
		return err
	})
	fs.StringVar(&sel.protocol, "protocol", "", "")
	fs.IntVar(&sel.folds, "folds", 5, "")
	fs.Func("candidates", "", func(s string) (err error) {
		sel.only, err = regexp.Compile(s)
		return err
	})
	fs.BoolVar(&asJSON, "json", false, "")
	if err = fs.Parse(args); err != nil {
		return o, selection{}, false, err
	}
	switch {
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case sel.protocol != "" && sel.protocol != "loafo":
		err = fmt.Errorf("unknown protocol %q (known: loafo)", sel.protocol)
	case sel.protocol == "loafo" && o.FamilyCol == "":
		err = fmt.Errorf("--protocol loafo needs --family-col")
	case sel.folds < 2:
		err = fmt.Errorf("--folds %d: need at least 2", sel.folds)
	case sel.only != nil && sel.protocol != "loafo":
		err = fmt.Errorf("--candidates needs --protocol loafo")
	case sel.only != nil && len(sel.candidates(o)) == 0:
		err = fmt.Errorf("--candidates %q matches no candidate", sel.only)
	default:
		err = o.Check()
	}
	return o, sel, asJSON, err
}

// selection is what --protocol loafo runs: the protocol, its folds and
// which candidates it compares.
type selection struct {
	protocol string
	folds    int
	only     *regexp.Regexp // --candidates: those whose names match, if set
}

// candidates returns what --protocol loafo compares: the sequence
// configurations when there is a trace column, else the detectors, and of
// those the ones --candidates matches.
func (sel selection) candidates(o evaluate.Options) []evaluate.Candidate {
	cs := evaluate.DetectorCandidates()
	if o.SequenceCol != "" {
		cs = evaluate.SequenceCandidates()
	}
	if sel.only != nil {
		cs = slices.DeleteFunc(cs, func(c evaluate.Candidate) bool { return !sel.only.MatchString(c.Name) })
	}
	return cs
}

// describeDefault names the default sequence models for the help text.
func describeDefault() string {
	var names []string
	for _, m := range pipeline.DefaultSequence().Models {
		names = append(names, string(m))
	}
	return strings.Join(names, ",")
}

// parseFleetSpec parses "publishers=P,malicious=M,images=I,instances=K,
// infected=F,repeat=R,seed=S"; omitted keys take evaluate.DefaultFleet's
// values.
func parseFleetSpec(s string) (*evaluate.FleetSpec, error) {
	spec := evaluate.DefaultFleet
	ints := map[string]*int{"publishers": &spec.Publishers, "malicious": &spec.Malicious,
		"images": &spec.Images, "instances": &spec.Instances, "repeat": &spec.Repeat}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return nil, fmt.Errorf("want KEY=VALUE, got %q", kv)
		}
		var err error
		switch p := ints[k]; {
		case p != nil:
			*p, err = strconv.Atoi(v)
		case k == "infected":
			spec.Infected, err = strconv.ParseFloat(v, 64)
		case k == "seed":
			spec.Seed, err = strconv.ParseUint(v, 10, 64)
		default:
			return nil, fmt.Errorf("unknown key %q (known: publishers, malicious, images, instances, infected, repeat, seed)", k)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a number", k, v)
		}
	}
	return &spec, spec.Check()
}
