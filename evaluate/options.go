package evaluate

import (
	"fmt"
	"strings"

	"imgward/detect"
	"imgward/detect/pipeline"
	"imgward/detect/trace"
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
	// Combine is how the sequence models' scores become features
	// (trace.SequenceConfig): by default one feature per model.
	Combine trace.Combine
	// Neural adds the surprise of a trace under a neural language model
	// (trace.NeuralConfig) to the sequence models: seq.nlm. Training
	// takes about 1.75 minutes on ADFA-LD's 833 traces with 2 cores.
	Neural bool
	// Recurrent adds the surprise of a trace under a recurrent (GRU)
	// language model (trace.RecurrentConfig): seq.rnn. Training takes
	// about 45 s on
	// ADFA-LD's 833 traces with 2 cores.
	Recurrent bool
	// GRU configures the recurrent model when Recurrent is set; nil means
	// trace.RecurrentConfig's defaults.
	GRU *trace.RecurrentConfig
	// Models are the sequence models (trace.SequenceConfig.Models); nil
	// means the default. Order is their n-gram order; 0 means the default.
	Models []trace.Model
	Order  int
	// Features are the feature families and detector of a baseline of
	// traces; nil means pipeline.DefaultTraceFeatures. Its Detector is
	// ignored: Detector applies.
	Features *pipeline.TraceFeatures
	// FamilyCol, if set, names the column of the anomalous rows' family
	// (an attack or malware family): Result.Families gives each family's
	// metrics on its own against the normal test rows.
	FamilyCol string
	// Holdout is the fraction of the training rows (normal, matching
	// Where) left out of training, chosen by SplitSeed. With the same
	// file as Train and Test, they are test rows.
	Holdout   float64
	SplitSeed uint64
}

// Where restricts the training rows to those whose Col equals Value.
type Where struct{ Col, Value string }

// Check reports a missing or invalid option as an error of kind Invalid;
// it sets an empty Detector to the default.
func (o *Options) Check() error {
	for _, f := range []struct{ name, v string }{
		{"--train", o.Train}, {"--test", o.Test}, {"--label-col", o.LabelCol}, {"--normal", o.Normal},
	} {
		if f.v == "" {
			return errors.E("eval", errors.Invalid, errors.Errorf("%s is required", f.name))
		}
	}
	if !(o.Holdout >= 0 && o.Holdout < 1) {
		return errors.E("eval", errors.Invalid, errors.Errorf("holdout %v: want a fraction in [0, 1)", o.Holdout))
	}
	if o.Order < 0 || o.Order > trace.MaxOrder {
		return errors.E("eval", errors.Invalid, errors.Errorf("order %d: want 1 to %d", o.Order, trace.MaxOrder))
	}
	if o.Fleet != nil {
		if err := o.Fleet.Check(); err != nil {
			return errors.E("eval", errors.Invalid, err)
		}
	}
	if o.Detector == "" {
		// The service's detector: for traces, that of a trace baseline.
		o.Detector = detect.DefaultName
		if d := pipeline.DefaultTraceFeatures().Detector; o.SequenceCol != "" && d != "" {
			o.Detector = d
		}
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

// Check reports a spec that cannot be simulated.
func (s FleetSpec) Check() error {
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
