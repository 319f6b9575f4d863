package rtc

// FlowPauses returns how often a viewer's sending paused because more than
// highWater bytes waited in its data channel.
func (g *Gateway) FlowPauses() int64 { return g.pauses.Load() }
