// Package surveyor is the field laptop's side of enrolment: a local SQLite
// store where each saved household commits together with its outbox, and the
// client that pushes the outbox to the sync server and pulls back what it learnt.
package surveyor
