//go:build race

package main

// raceEnabled is true under the race detector, which slows the server
// several times over; time limits that state a product promise (ready in
// 10 s) are scaled for it rather than loosened for everyone.
const raceEnabled = true
