package admin

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteJSON writes st as indented JSON, the form GET /v1/status serves. The
// field names are those of the struct tags on Status and its parts; lists
// are never null.
func WriteJSON(w io.Writer, st Status) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(st.normalized())
}

// tableHeader names the columns of WriteTable. ↑ is toward the upstream peer,
// ↓ toward the application; PATHS counts each leg's paths (peer addresses) and
// says how many are not ACTIVE.
const tableHeader = "ID\tRELAY\tFRONT\tUPSTREAM\tSTATE\tMSGS↑/↓\tBYTES↑/↓\tHELD↑/↓\tQUOTA\tKERNEL↑/↓\tPEER RWND↑/↓\tPATHS↑/↓\tBLOCKED\tAGE"

// WriteTable writes st for people: two header lines with the daemon and its
// budgets (in use/limit), then one row per association, ordered by ID.
func WriteTable(w io.Writer, st Status) error {
	ew := &errWriter{w: w}
	writeSummary(ew, st)
	if len(st.Associations) == 0 {
		fmt.Fprintln(ew, "no associations")
		return ew.err
	}
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, tableHeader)
	assocs := slices.Clone(st.Associations)
	slices.SortStableFunc(assocs, func(a, b AssocStatus) int { return cmp.Compare(a.ID, b.ID) })
	for _, a := range assocs {
		fmt.Fprintln(tw, row(a))
	}
	tw.Flush()
	return ew.err
}

func writeSummary(w io.Writer, st Status) {
	fmt.Fprintf(w, "sctpguard %s, started %s, %d associations (↑ toward upstream, ↓ toward front)\n",
		orDash(st.Version), st.Started.Format(time.RFC3339), len(st.Associations))
	budgets := []string{"global " + budget(st.Global)}
	for _, r := range st.Relays {
		b := fmt.Sprintf("relay %s %s", r.Name, budget(r.Budget))
		if sh := r.Shared; sh != nil {
			b += fmt.Sprintf(" (one_to_many socket: %d associations, %s queued, kernel %s/%s, %d stalls %s)",
				sh.Associations, size(sh.Queued), kernel(sh.KernelRecv), kernel(sh.KernelSend), sh.Stalls, duration(sh.Stalled))
		}
		budgets = append(budgets, b)
	}
	fmt.Fprintf(w, "budget in use/limit: %s\n\n", strings.Join(budgets, ", "))
}

func row(a AssocStatus) string {
	cells := []string{
		strconv.FormatUint(a.ID, 10),
		orDash(a.Relay),
		orDash(a.Front),
		upstreamCell(a),
		orDash(string(a.State)),
		fmt.Sprintf("%d/%d", a.MsgsToUpstream, a.MsgsToFront),
		size(int64(a.BytesToUpstream)) + "/" + size(int64(a.BytesToFront)),
		size(a.HeldToUpstream) + "/" + size(a.HeldToFront),
		limit(a.Quota),
		kernel(a.KernelToUpstream) + "/" + kernel(a.KernelToFront),
		size(int64(a.PeerRwndUpstream)) + "/" + size(int64(a.PeerRwndFront)),
		paths(a.PathsUpstream) + "/" + paths(a.PathsFront),
		duration(a.Blocked),
		duration(a.Age),
	}
	return strings.Join(cells, "\t")
}

// upstreamCell is the upstream peer's addresses, and for a transparent relay
// the original destination the application asked for, when it is not all of them.
func upstreamCell(a AssocStatus) string {
	if a.OriginalDst == "" || a.OriginalDst == a.Upstream {
		return orDash(a.Upstream)
	}
	return orDash(a.Upstream) + " (asked " + a.OriginalDst + ")"
}

// paths formats a leg's paths: "2" when all are ACTIVE, "2 (1 down)" when
// one is not, "-" when unknown.
func paths(ps []PathStatus) string {
	if len(ps) == 0 {
		return "-"
	}
	down := 0
	for _, p := range ps {
		if p.State != "ACTIVE" {
			down++
		}
	}
	if down == 0 {
		return strconv.Itoa(len(ps))
	}
	return fmt.Sprintf("%d (%d down)", len(ps), down)
}

func budget(b Budget) string { return size(b.Used) + "/" + limit(b.Limit) }

// limit formats a limit, where zero means none.
func limit(n int64) string {
	if n == 0 {
		return "unlimited"
	}
	return size(n)
}

// kernel formats a kernel queue size, where -1 means unknown.
func kernel(n int64) string {
	if n < 0 {
		return "?"
	}
	return size(n)
}

// size formats n bytes with the units the configuration accepts: 512B,
// 1.5KiB, 12.3MiB, 256MiB.
func size(n int64) string {
	if n < 0 {
		return "-" + size(-n)
	}
	if n < 1024 {
		return strconv.FormatInt(n, 10) + "B"
	}
	v, unit := float64(n)/1024, 0
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	for v >= 1024 && unit < len(units)-1 {
		v /= 1024
		unit++
	}
	prec := 1
	if v >= 100 {
		prec = 0
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	return strings.TrimSuffix(s, ".0") + units[unit]
}

// duration formats d to two significant units: 350ms, 12.5s, 3m04s, 2h05m,
// 3d04h.
func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return strings.TrimSuffix(strconv.FormatFloat(d.Seconds(), 'f', 1, 64), ".0") + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", d/time.Minute, d%time.Minute/time.Second)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", d/time.Hour, d%time.Hour/time.Minute)
	}
	day := 24 * time.Hour
	return fmt.Sprintf("%dd%02dh", d/day, d%day/time.Hour)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// errWriter keeps the first write error, so rendering need not check each.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
