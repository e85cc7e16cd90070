// Package migrations embeds the SQL schema of each dialect. Files are named
// by UTC timestamp so changes made in parallel never collide on a number;
// they are applied in name order, each in its own transaction.
package migrations

import "embed"

// FS holds sqlite/*.sql and postgres/*.sql.
//
//go:embed sqlite/*.sql postgres/*.sql
var FS embed.FS
