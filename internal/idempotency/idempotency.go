// Package idempotency describes retry-safe writes (docs/api.md): a client sends
// an Idempotency-Key; the first outcome under that key is stored with the
// write itself and returned again for every repeat of the same request.
package idempotency

// Key identifies one retry-safe request.
type Key struct {
	// Owner scopes keys: "user:<id>" or "partner:<id>". Two callers may use
	// the same key string without meeting.
	Owner string
	Key   string
	// Hash is a digest of the request (method, path, body). The same key
	// with another request is refused as idempotency_key_reused.
	Hash string
	// Render turns an outcome (a value or a refusal) into the response
	// stored for replays. It runs inside the write's transaction.
	Render func(v any, err error) (status int, body []byte)
}

// Replay is a stored response returned for a repeated key.
type Replay struct {
	Status int
	Body   []byte
}

// MaxKeyLength bounds a key (docs/api.md: up to 200 characters).
const MaxKeyLength = 200
