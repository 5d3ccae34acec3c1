package evaluate

import (
	"fmt"
	"strconv"
	"strings"

	"imgward/detect"
	"imgward/errors"
	"imgward/fleet"
)

// Options are the inputs of an evaluation.
type Options struct {
	Train, Test string // CSV file names
	LabelCol    string
	Normal      string // the label of normal rows
	Where       []Where
	SequenceCol string
	Detector    string     // a name of detect.Names
	Fleet       *FleetSpec // nil: no publisher-level evaluation
	Seed        uint64     // seeds the detector and the cross-fitting
	Workers     int        // scoring goroutines; 0 means GOMAXPROCS
	// FleetParam is how a publisher's unified state folds its instances'
	// surprise; the zero Param is the weighted mean (Fisher's method).
	FleetParam fleet.Param
	// Separate gives the detectors the sequence models' scores as separate
	// features (seq.nll, seq.unseenN, ...) in place of their consensus
	// seq.novelty (trace.SequenceConfig).
	Separate bool
	// Neural adds the surprise of a trace under a neural language model
	// (trace.NeuralConfig) to the sequence models: seq.nlm. Training
	// takes about 1.75 minutes on ADFA-LD's 833 traces with 2 cores.
	Neural bool
	// Recurrent adds the surprise of a trace under a recurrent (GRU)
	// language model (trace.RecurrentConfig): seq.rnn, which with
	// Separate replaces seq.unseenN. Training takes about 45 s on
	// ADFA-LD's 833 traces with 2 cores.
	Recurrent bool
}

// Where restricts the training rows to those whose Col equals Value.
type Where struct{ Col, Value string }

// check reports a missing or invalid option as an error of kind Invalid.
func (o *Options) check() error {
	for _, f := range []struct{ name, v string }{
		{"--train", o.Train}, {"--test", o.Test}, {"--label-col", o.LabelCol}, {"--normal", o.Normal},
	} {
		if f.v == "" {
			return errors.E("eval", errors.Invalid, errors.Errorf("%s is required", f.name))
		}
	}
	if o.Detector == "" {
		o.Detector = detect.DefaultName
	}
	if _, err := detect.New(o.Detector, detect.Config{}); err != nil {
		return errors.E("eval", errors.Invalid, errors.Errorf("unknown detector %q (known: %s)",
			o.Detector, strings.Join(detect.Names(), ", ")))
	}
	return nil
}

// FleetSpec describes a simulated cloud: Publishers publishers of Images
// images of Instances instances each; the instances of Malicious of them
// are anomalous with probability Infected. The simulation runs Repeat
// times, seeded from Seed.
type FleetSpec struct {
	Publishers, Malicious, Images, Instances int
	Infected                                 float64
	Repeat                                   int
	Seed                                     uint64
}

// DefaultFleet is the spec that --fleet's omitted fields default to.
var DefaultFleet = FleetSpec{Publishers: 20, Malicious: 2, Images: 3, Instances: 10,
	Infected: 0.3, Repeat: 5, Seed: 1}

// maxFleetInstances bounds the simulated instances of one repeat.
const maxFleetInstances = 10_000_000

// ParseFleetSpec parses "publishers=P,malicious=M,images=I,instances=K,
// infected=F,repeat=R,seed=S"; omitted keys take DefaultFleet's values.
func ParseFleetSpec(s string) (*FleetSpec, error) {
	spec := DefaultFleet
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
	return &spec, spec.check()
}

func (s FleetSpec) check() error {
	switch {
	case s.Publishers < 2:
		return fmt.Errorf("publishers=%d: need at least 2", s.Publishers)
	case s.Malicious < 1 || s.Malicious >= s.Publishers:
		return fmt.Errorf("malicious=%d: need at least 1 and fewer than publishers", s.Malicious)
	case s.Images < 1 || s.Instances < 1 || s.Repeat < 1:
		return fmt.Errorf("images, instances and repeat must be at least 1")
	case !(s.Infected >= 0 && s.Infected <= 1):
		return fmt.Errorf("infected=%v: want a probability in [0, 1]", s.Infected)
	case s.Publishers > maxFleetInstances || s.Images > maxFleetInstances/s.Publishers ||
		s.Instances > maxFleetInstances/(s.Publishers*s.Images) || s.Repeat > 1000:
		return fmt.Errorf("fleet too large: at most %d instances and 1000 repeats", maxFleetInstances)
	}
	return nil
}
