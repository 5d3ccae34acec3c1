// Package pipeline is detection's one scoring pipeline, the same for the
// service (package monitor) and for imgward eval (package evaluate):
//
//   - featurising: a snapshot becomes a row of its numeric features, per
//     set feature its size (.count) and its items not common in the
//     baseline (.novel), with the set of its system calls, and the
//     sequence features of its trace (package detect/trace);
//   - the detector (package detect), fitted on the training rows;
//   - calibration: a score becomes a surprise, -ln p, p its tail
//     probability among cross-fitted training scores, extrapolated beyond
//     the largest by an exponential tail;
//   - persistence: a Model is what a baseline stores, as JSON; a stored
//     model refits to the same scores;
//   - aggregation: instances' surprises fold into their image's and
//     publisher's mean (package fleet), judged against the Gamma
//     threshold of benign instances.
package pipeline
