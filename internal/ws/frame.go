package ws

import (
	"errors"

	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/input"
	"github.com/pointsbook/pointsbook/internal/live"
)

// MaxFrame is the largest frame a client may send; a larger one closes the
// connection (status 1009).
const MaxFrame = 4 << 10

// Frame is one message from a client (docs/realtime.md).
type Frame struct {
	Type    string `json:"type"`
	Channel string `json:"channel"`
	// Since, on subscribe to a match room, is the last chat message id the
	// client has: it is sent what came after. A pointer, because 0 ("I
	// have none: from the first message") is a resume and absent is not.
	Since *int64 `json:"since,omitempty"`
	// Text is chat.send's message.
	Text string `json:"text,omitempty"`
	// ID and Reason are chat.report's.
	ID     int64  `json:"id,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Ref is the client's own tag, echoed in an error the frame causes.
	Ref string `json:"ref,omitempty"`
}

// The client's message types.
const (
	Subscribe   = "subscribe"
	Unsubscribe = "unsubscribe"
	ChatSend    = "chat.send"
	ChatReport  = "chat.report"
)

// DecodeFrame decodes and checks a client frame: strict JSON (valid UTF-8,
// no NUL, no repeated or unknown key), a known type, a well-formed channel
// and the fields that type needs.
//
// Codes: invalid_frame, unknown_type, invalid_channel, invalid_text.
func DecodeFrame(data []byte) (Frame, error) {
	var f Frame
	if len(data) > MaxFrame {
		return f, fault.New(fault.Invalid, "invalid_frame", "A frame has at most 4096 bytes.")
	}
	if err := input.DecodeJSON(data, &f); err != nil {
		if fe, ok := errors.AsType[*fault.Error](err); ok && fe.Code == "invalid_text" {
			return Frame{}, err
		}
		return Frame{}, fault.New(fault.Invalid, "invalid_frame", "A frame is one JSON object of the protocol.")
	}
	if len(f.Ref) > 64 {
		return Frame{}, fault.New(fault.Invalid, "invalid_frame", "A frame is one JSON object of the protocol.")
	}
	switch f.Type {
	case Subscribe, Unsubscribe, ChatSend, ChatReport:
	default:
		return f, fault.New(fault.Invalid, "unknown_type", "Unknown message type.")
	}
	kind, _, ok := live.SplitChannel(f.Channel)
	if !ok || len(f.Channel) > 100 || !input.ValidText(f.Channel) {
		return f, fault.New(fault.Invalid, "invalid_channel", "A channel is match:<id>, lobby:<sport> or user:<your id>.")
	}
	if f.Since != nil && (*f.Since < 0 || f.Type != Subscribe || kind != "match") {
		return f, fault.New(fault.Invalid, "invalid_frame", "A frame is one JSON object of the protocol.")
	}
	if (f.Type == ChatSend || f.Type == ChatReport) && kind != "match" {
		return f, fault.New(fault.Invalid, "invalid_channel", "A channel is match:<id>, lobby:<sport> or user:<your id>.")
	}
	if f.Type == ChatReport && f.ID <= 0 {
		return f, fault.New(fault.Invalid, "invalid_frame", "A frame is one JSON object of the protocol.")
	}
	return f, nil
}
