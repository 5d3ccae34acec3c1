// Package imgward is the vocabulary of imgward, a service that secures the
// virtual-machine and container images of an IaaS cloud: the identifiers and
// records it keeps (projects, users, publishers, images, members, instances,
// audit entries) and the interfaces between its parts.
//
// The house, one room per package:
//
//	errors/     one structured error, errors.E(op, kind, err)
//	catalog/    the sharing rules: visibility, the member state machine,
//	            launch permission; every decision audited
//	store/      Store backends: sqlite (embedded default) and postgres
//	            (several nodes on one database), one conformance suite
//	blob/       image bytes at rest on the local filesystem
//	audit/      the hash chain of the append-only audit log, and its check
//	api/        HTTP: Glance v2 images and members under /v2, the rest under /v1
//	cmd/imgward the one binary: the server and the client commands
//
// Data flows one way: a request enters through api/, the rules in catalog/
// decide, the stores keep. Rules never import api/; stores never import rules.
// docs/ARCHITECTURE.md is the map of what is built.
package imgward
