package odds

// Rates are a sport's published base rates: what a season of a real
// league looks like, which the simulator's leagues are calibrated to (the
// simulator's calibration test plays 10,000 matches per sport against
// them). Shares, totals and margins (home minus away) are of the
// regulation score (overtime, shoot-outs and extra time left out), or of
// the final score where Final is set.
type Rates struct {
	// Source names the league, the seasons and where the figures were
	// published.
	Source           string
	Final            bool
	Home, Draw, Away float64
	Total, TotalSD   float64
	Margin, MarginSD float64
	// Unsourced lists the figures above that no published source gave;
	// they are left at zero and not tested.
	Unsourced []string
}

// RealRates are the published base rates by sport.
var RealRates = map[string]Rates{
	// English Premier League, 2003-04 to 2022-23 (7,585 matches):
	// https://www.sport12x.com/en/mathematics/football/england/premier-league
	// (page of 2023-05-30). The same page's 2003-2020 sample and
	// bettingexpert.com's 2008-2013 seasons agree within a point.
	"football": {
		Source: "English Premier League 2003-04 to 2022-23, sport12x.com/en/mathematics/football/england/premier-league",
		Home:   0.458, Draw: 0.247, Away: 0.295,
		Total: 2.69, TotalSD: 1.67,
		Margin: 0.36, MarginSD: 1.82,
	},
	// sport12x's baseball sample, 2011-09-30 to 2024-05-14 (35,926
	// matches, mostly Major League Baseball, where no game ends level):
	// https://www.sport12x.com/en/mathematics/baseball. The simulator's
	// leagues tie after the twelfth inning, as the Korean and Japanese
	// leagues do; no source found gives a tie share under that rule (the
	// NPB page's 6.3 % includes the 2020-21 seasons, which had no extra
	// innings), so the draw share is not tested and Home and Away are
	// shares of decided games.
	"baseball": {
		Source: "sport12x.com/en/mathematics/baseball (mostly MLB) 2011-2024",
		Final:  true,
		Home:   0.534, Away: 0.466,
		Total: 8.76, TotalSD: 4.49,
		Margin: 0.10, MarginSD: 4.38,
		Unsourced: []string{"draw (a tie after twelve innings)"},
	},
	// sport12x's basketball sample, regulation time, 2014-09-23 to
	// 2024-06-16 (40,350 matches of leagues playing four 10-minute
	// quarters, as the simulator's do):
	// https://www.sport12x.com/en/mathematics/basketball.
	"basketball": {
		Source: "sport12x.com/en/mathematics/basketball (FIBA-rules leagues, regulation) 2014-2024",
		Home:   0.567, Draw: 0.048, Away: 0.385,
		Total: 159.80, TotalSD: 17.74,
		Margin: 3.11, MarginSD: 14.78,
	},
	// National Hockey League, regulation time, 2014-15 to 2023-24 (13,479
	// matches): https://www.sport12x.com/en/mathematics/ice-hockey/usa/nhl.
	// sportingcharts.com counts 23.3 % of NHL games going to overtime in
	// 2005-06 to 2012-13; the AHL (22.8 %) and DEL (20.6 %) pages agree.
	"hockey": {
		Source: "NHL 2014-15 to 2023-24 regulation, sport12x.com/en/mathematics/ice-hockey/usa/nhl",
		Home:   0.426, Draw: 0.226, Away: 0.348,
		Total: 5.67, TotalSD: 2.32,
		Margin: 0.26, MarginSD: 2.46,
	},
	// Two sources. Results and the mean total: German Handball-Bundesliga
	// 2017-18, 306 matches, 164 home wins, 37 draws, 105 away wins,
	// 8,379 home and 7,988 away goals (27.4-26.1 a match):
	// https://tvb1898.de/2018/06/13/stuttgart-mit-ueberraschendem-auswaertstrend/.
	// Spreads: European Championship 2010-2024 (697 matches; draws 8.0 %,
	// mean total 55.31, SD 7.27, margin SD 7.40):
	// https://www.sport12x.com/en/mathematics/handball/europe/europe-championship
	// (its home side is nominal at a tournament, so its shares are not
	// used). Draw is the middle of the two sources' 12.1 % and 8.0 %; no
	// source found gives a club league's spread.
	"handball": {
		Source: "Handball-Bundesliga 2017-18 (tvb1898.de) and EHF EURO 2010-2024 (sport12x.com)",
		Home:   0.536, Draw: 0.100, Away: 0.343,
		Total: 53.5, TotalSD: 7.27,
		Margin: 1.3, MarginSD: 7.40,
	},
}
