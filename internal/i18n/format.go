package i18n

import (
	"time"

	"golang.org/x/text/message"
)

// Printer formats messages, numbers and times in one language.
type Printer struct {
	lang Lang
	p    *message.Printer
}

// Lang is the printer's language.
func (p *Printer) Lang() Lang { return p.lang }

// T is the message of key with its arguments; %d arguments get thousands
// separators. An unknown key prints as itself, which the catalogue test
// and the web templates' start-up check keep from happening.
func (p *Printer) T(key string, args ...any) string { return p.p.Sprintf(key, args...) }

// Number is n with thousands separators: 1,234,567.
func (p *Printer) Number(n int64) string { return p.p.Sprintf("%d", n) }

// Points is an amount of points with its unit: 50,000 P.
func (p *Printer) Points(n int64) string { return p.T("unit.points", n) }

// The layouts of times are catalogue entries (time.*), so that each
// language orders day, month and clock its own way.

// DateTime is t in loc as a date and a clock time with the zone:
// "12월 9일 00:00 (KST)", "9 Dec 00:00 (KST)".
func (p *Printer) DateTime(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return p.T("time.with_zone", t.Format(p.T("time.layout.datetime")), Zone(t))
}

// Date is t's calendar day in loc: "12월 9일 (수)", "Wed 9 Dec".
func (p *Printer) Date(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return p.T("time.date", t.Format(p.T("time.layout.date")), p.T(weekdays[t.Weekday()]))
}

// Clock is t's time of day in loc with the zone: "19:30 (KST)".
func (p *Printer) Clock(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return p.T("time.with_zone", t.Format("15:04"), Zone(t))
}

var weekdays = [...]string{"time.weekday.sun", "time.weekday.mon", "time.weekday.tue", "time.weekday.wed", "time.weekday.thu", "time.weekday.fri", "time.weekday.sat"}

// Relative says how far t is from now when that is under an hour ("12분
// 후", "in 12 min", "3분 전", "3 min ago"), and "" otherwise, so a page
// shows it only beside near kick-offs.
func (p *Printer) Relative(t, now time.Time) string {
	d := t.Sub(now)
	switch {
	case d >= time.Hour || d <= -time.Hour:
		return ""
	case d >= 0:
		return p.T("time.in_minutes", int64((d+time.Minute-1)/time.Minute))
	default:
		return p.T("time.minutes_ago", int64(-d/time.Minute))
	}
}

// Zone is the abbreviation of t's zone ("KST"), or its offset where the
// zone database has no abbreviation ("+07").
func Zone(t time.Time) string {
	name, _ := t.Zone()
	return name
}
