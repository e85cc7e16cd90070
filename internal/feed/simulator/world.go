package simulator

import (
	"fmt"
	"math"
	"time"
)

// The world: six fictional countries four hours apart, each with a league
// per sport of 20 teams that all play once a day, kicking off every 15
// minutes between 10:00 and 22:00 local time. Each instant of the day is
// inside three countries' windows, and the three use different minutes
// (:00/:15…, :05/:20…, :10/:25…), so some match kicks off every five
// minutes around the clock while the ones before it are still playing.

type region struct {
	country string
	offset  int // hours from UTC; whole hours keep the five-minute grid
	cities  [teamsPerLeague]string
}

const (
	teamsPerLeague = 20
	matchesPerDay  = teamsPerLeague / 2 // per league: every team once a day
	sportsCount    = 5
	// slotsPerDay kick-off times per country and day, 15 minutes apart
	// from 10:00 local, shared by its five leagues' matches.
	slotsPerDay = 48
	firstSlot   = 10 * 60 // minutes after local midnight
	slotGap     = 15
	// epochDay is 2000-01-01 in days since 1970: match numbers count
	// from it, so they stay positive and short.
	epochDay = 10957
	// roundsPerCycle is a double round robin: every pair meets twice,
	// once at each ground.
	roundsPerCycle = 2 * (teamsPerLeague - 1)
	// cupEvery days a country's football league plays a cup round
	// instead, where a level game goes to extra time and penalties.
	cupEvery = 7
)

var regions = [...]region{
	{country: "Westmark", offset: -8, cities: [...]string{
		"Cedar Hollow", "Port Alden", "Redcliff", "Silverbay", "Marrowfield", "Kestrel Point", "Glenhaven", "Ashbury Falls", "Tidewater", "Coldbrook",
		"Fairmont Ridge", "Orca Sound", "Pinecrest", "Drummond Bay", "Ironvale", "Saltmarsh", "Brightwater", "Copperton", "Elk Harbor", "Westfall"}},
	{country: "Solmira", offset: -4, cities: [...]string{
		"Puerto Calida", "San Aurelio", "Vista Brava", "Montelargo", "Rio Sereno", "Costa Dorada", "Villa Ambar", "Santa Lucena", "Alto Verde", "Playa Honda",
		"Cerro Azul", "Nueva Palma", "Los Robles", "Bahia Clara", "Valle Oscuro", "Punta Sola", "Las Brisas", "Arroyo Fino", "Campo Real", "Isla Mirada"}},
	{country: "Albrenn", offset: 0, cities: [...]string{
		"Northwick", "Dunmere", "Kilbarrow", "Halsworth", "Eastmoor", "Bramhollow", "Caddon", "Wrexford", "Ollerby", "Thornbury",
		"Grimsmoor", "Aldwater", "Fenwick", "Stowe Cross", "Marbury", "Lowerton", "Highcastle", "Rookhaven", "Penmarrow", "Glasswell"}},
	{country: "Qadessa", offset: 4, cities: [...]string{
		"Al Nahra", "Zarqan", "Bayt Sahel", "Qasr Amin", "Dar Falak", "Wadi Saba", "Marjan", "Rasfah", "Nakhla", "Tal Aswad",
		"Jazirat Nur", "Samira Port", "Hadiqa", "Sirr Bay", "Khalida", "Umm Zahr", "Ard Noor", "Barqa Hills", "Ras Tamar", "Dunya"}},
	{country: "Kirasan", offset: 8, cities: [...]string{
		"Hanlu", "Seomun", "Kaito", "Minsei", "Daeyang", "Haruna Bay", "Shiraoka", "Tongjin", "Ryuhama", "Baekdo",
		"Yunhe", "Kanazaki", "Sorae", "Jinpo", "Meiran", "Asahira", "Nanbu", "Goryeon", "Lianshan", "Hoshimura"}},
	{country: "Tevaru", offset: 12, cities: [...]string{
		"Koru Bay", "Waimaru", "Pakeno", "Hinemaru", "Tauriki", "Motuhava", "Rangatahi", "Oruanui", "Kereru Point", "Tamaki Rise",
		"Pounamu", "Whetu", "Manuhiri", "Ahuroa", "Kaiwaka", "Toetoe Bay", "Matariki", "Awaroa", "Ruatahi", "Niupara"}},
}

// sportDef is one sport's place in the world: slug, names and the
// hidden-strength scale its ratings are drawn on.
type sportDef struct {
	slug   string
	league string // "%s" is the country
	// base is the average side's expected regulation scoring; home and
	// away scale it for where the match is played.
	base, home, away float64
	// Spread (standard deviation of the logarithm) of attack and defence
	// strengths across teams, and of their change from season to season.
	attack, defence, season float64
	team                    func(city string, i, r int) string
}

var footballStyles = [...]string{"%s FC", "%s United", "Athletic %s", "%s Rovers", "%s Wanderers", "%s Albion", "%s Town", "Sporting %s", "%s Rangers", "Racing %s"}
var handballStyles = [...]string{"HC %s", "%s Handball", "SG %s", "TV %s", "%s HK"}

func nicknamed(names [20]string) func(city string, i, r int) string {
	return func(city string, i, r int) string { return city + " " + names[(i+7*r)%len(names)] }
}

// sports are in sport.Sports order; the index is part of every seed.
var sports = [sportsCount]sportDef{
	{slug: "football", league: "%s Premier League", base: 1.33, home: 1.15, away: 0.88, attack: 0.22, defence: 0.18, season: 0.08,
		team: func(city string, i, r int) string {
			return fmt.Sprintf(footballStyles[(i+3*r)%len(footballStyles)], city)
		}},
	{slug: "baseball", league: "%s Baseball League", base: 4.4, home: 1.03, away: 0.97, attack: 0.12, defence: 0.10, season: 0.05,
		team: nicknamed([20]string{"Mariners", "Pioneers", "Miners", "Herons", "Foxes", "Owls", "Captains", "Rebels", "Hawks", "Bears",
			"Lions", "Tigers", "Sailors", "Stars", "Voyagers", "Ravens", "Bison", "Cardinals", "Otters", "Royals"})},
	{slug: "basketball", league: "%s Basketball League", base: 80, home: 1.02, away: 0.985, attack: 0.05, defence: 0.04, season: 0.02,
		team: nicknamed([20]string{"Comets", "Falcons", "Titans", "Storm", "Blaze", "Knights", "Pilots", "Lynx", "Cyclones", "Stallions",
			"Monarchs", "Sharks", "Phantoms", "Rockets", "Dragons", "Giants", "Hornets", "Vipers", "Eagles", "Bulldogs"})},
	{slug: "hockey", league: "%s Hockey League", base: 2.9, home: 1.05, away: 0.96, attack: 0.12, defence: 0.10, season: 0.05,
		team: nicknamed([20]string{"Wolves", "Blizzard", "Frost", "Thunder", "Huskies", "Glaciers", "Moose", "Icebreakers", "Avalanche", "Lumberjacks",
			"Polar Bears", "Grizzlies", "Timberwolves", "Northstars", "Chiefs", "Penguins", "Bruins", "Spartans", "Reapers", "Ice Kings"})},
	{slug: "handball", league: "%s Handball League", base: 26.75, home: 1.03, away: 0.972, attack: 0.10, defence: 0.09, season: 0.03,
		team: func(city string, i, r int) string {
			return fmt.Sprintf(handballStyles[(i+r)%len(handballStyles)], city)
		}},
}

func sportIndex(slug string) int {
	for i, s := range sports {
		if s.slug == slug {
			return i
		}
	}
	return -1
}

// game identifies one match: sport, country, its league's round (days
// since epochDay, in the country's local calendar) and its order among
// that league's ten matches of the day.
type game struct {
	sport, region int
	round         int64
	k             int
}

// number is the match's number within its sport, the n of "football:n".
func (g game) number() int64 {
	return (g.round*int64(len(regions))+int64(g.region))*matchesPerDay + int64(g.k)
}

func gameOf(sp int, n int64) game {
	k := floorMod(n, matchesPerDay)
	rest := floorDiv(n, matchesPerDay)
	return game{sport: sp, region: int(floorMod(rest, int64(len(regions)))), round: floorDiv(rest, int64(len(regions))), k: int(k)}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// kickoff is when the match starts. The five leagues of a country take
// its 50 matches a day in turn, rotating daily so each sport gets every
// time of day; two slots a day hold two matches.
func (g game) kickoff() time.Time {
	i := int(floorMod(int64(g.sport)-int64(g.region)-g.round, sportsCount)) + sportsCount*g.k
	slot := i * slotsPerDay / (sportsCount * matchesPerDay)
	minute := firstSlot + 5*(g.region%3) + slotGap*slot - 60*regions[g.region].offset
	day := epochDay + g.round
	return time.Unix(day*86400+int64(minute)*60, 0).UTC()
}

// localRound is the round a country's leagues play on the local day that
// contains t.
func localRound(t time.Time, region int) int64 {
	return floorDiv(t.Unix()+int64(regions[region].offset)*3600, 86400) - epochDay
}

func (g game) cup() bool {
	return g.sport == 0 && floorMod(g.round+int64(g.region), cupEvery) == 3
}

// pairing returns the home and away team of the match: the round of a
// circle-method double round robin, its ten pairs dealt to the day's
// kick-off times in a per-day order so no team always plays at the same
// hour.
func (s *Simulator) pairing(g game) (home, away int) {
	c := int(floorMod(g.round, roundsPerCycle))
	second := c >= teamsPerLeague-1
	if second {
		c -= teamsPerLeague - 1
	}
	order := [matchesPerDay]int{}
	for i := range order {
		order[i] = i
	}
	r := newRNG(uint64(s.seed), 1, uint64(g.sport), uint64(g.region), uint64(g.round))
	for i := matchesPerDay - 1; i > 0; i-- {
		j := r.intn(i + 1)
		order[i], order[j] = order[j], order[i]
	}
	j := order[g.k]
	const m = teamsPerLeague - 1
	if j == 0 {
		home, away = m, c
		if c%2 == 1 {
			home, away = away, home
		}
	} else {
		home, away = (c+j)%m, (c-j+m)%m
		if (c+j)%2 == 1 {
			home, away = away, home
		}
	}
	if second {
		home, away = away, home
	}
	return home, away
}

// strength is a team's hidden attack and defence in a season (calendar
// year): a lasting level plus a change each season.
func (s *Simulator) strength(sp, region, team, year int) (attack, defence float64) {
	d := sports[sp]
	base := newRNG(uint64(s.seed), 2, uint64(sp), uint64(region), uint64(team))
	yr := newRNG(uint64(s.seed), 3, uint64(sp), uint64(region), uint64(team), uint64(year))
	attack = d.attack*base.norm() + d.season*yr.norm()
	defence = d.defence*base.norm() + d.season*yr.norm()
	return attack, defence
}

// ratings are the sides' expected regulation scoring in this match.
func (s *Simulator) ratings(g game, home, away int) (float64, float64) {
	year := g.kickoff().Add(time.Duration(regions[g.region].offset) * time.Hour).Year()
	ha, hd := s.strength(g.sport, g.region, home, year)
	aa, ad := s.strength(g.sport, g.region, away, year)
	d := sports[g.sport]
	return round4(d.base * d.home * math.Exp(ha-ad)), round4(d.base * d.away * math.Exp(aa-hd))
}

// round4 keeps ratings short where they are shown and stored.
func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }
