package model

// GoProcess is one Go process of the machine as `memsight ps` lists it
// (observe.Inventory).
type GoProcess struct {
	PID         int    `json:"pid"`
	Comm        string `json:"comm"`
	Exe         string `json:"exe"`
	GoVersion   string `json:"go_version"`
	MainModule  string `json:"main_module,omitempty"`
	BuildMode   string `json:"build_mode,omitempty"`
	Stripped    bool   `json:"stripped"`
	PIE         bool   `json:"pie"`
	CGO         bool   `json:"cgo"` // runtime/cgo linked in
	DWARF       bool   `json:"dwarf"`
	RSSBytes    uint64 `json:"rss_bytes"`
	Attachable  bool   `json:"attachable"`
	Reason      string `json:"reason"`
	ContainerID string `json:"container_id"`
	PodUID      string `json:"pod_uid"`
}
