package config

import (
	"time"

	"github.com/memsight/memsight/pkg/detect"
)

// Profiles, the names --profile and the profile key accept.
const (
	ProfileDev     = "dev"
	ProfileStaging = "staging"
	ProfileProd    = "prod"
)

// Profiles lists the profile names, in order of sensitivity.
func Profiles() []string { return []string{ProfileDev, ProfileStaging, ProfileProd} }

// Profile returns a named profile's thresholds; ok is false for an unknown
// name. prod is detect.Defaults(); staging is more sensitive; dev reacts to
// small, short problems (windows of seconds to minutes), for a laptop or CI.
func Profile(name string) (cfg detect.Config, ok bool) {
	cfg = detect.Defaults()
	switch name {
	case ProfileProd, "":
	case ProfileStaging:
		cfg.StallThreshold = time.Second
		cfg.BacklogWindow = 20 * time.Second
		cfg.GrowthWindow = 5 * time.Minute
		cfg.GrowthMinWindow = cfg.GrowthWindow / 2
		cfg.RSSGrowthThreshold, cfg.HeapGrowthThreshold = 5<<20, 5<<20
		cfg.GoroutineGrowthThreshold, cfg.FDGrowthThreshold = 100, 50
		cfg.GCPauseFactor = 2.5
	case ProfileDev:
		cfg.StallThreshold = 500 * time.Millisecond
		cfg.BacklogWindow = 10 * time.Second
		cfg.GrowthWindow = 2 * time.Minute
		cfg.GrowthMinWindow = cfg.GrowthWindow / 2
		cfg.GrowthMinR2 = 0.7
		cfg.RSSGrowthThreshold, cfg.HeapGrowthThreshold = 2<<20, 2<<20
		cfg.GoroutineGrowthThreshold, cfg.FDGrowthThreshold = 50, 25
		cfg.GrowthMinBytes, cfg.GrowthMinCount = 256<<10, 5
		cfg.GCPauseFactor = 2
		cfg.GCPauseBaselineSamples = 5
	default:
		return cfg, false
	}
	return cfg, true
}
