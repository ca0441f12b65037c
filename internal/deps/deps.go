package deps
import (
	_ "github.com/ishidawataru/sctp"
	_ "github.com/vishvananda/netlink/nl"
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/hashicorp/hcl/v2/gohcl"
	_ "github.com/hashicorp/hcl/v2/hclsimple"
	_ "golang.org/x/sys/unix"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "golang.org/x/sync/errgroup"
	_ "github.com/zclconf/go-cty/cty"
)
