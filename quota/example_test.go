package quota_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/sctpguard/sctpguard/quota"
)

func Example() {
	model := quota.CostModel{Header: 542, Overhead: 767} // as printed by `sctpguard calibrate`
	global := quota.NewBudget("global", 256<<20, nil)
	socket := quota.NewBudget("diameter", 0, global)

	// One association direction: 1 MiB, with the default 64 KiB reserve.
	acct, err := socket.Open(1<<20, 0)
	if err != nil {
		fmt.Println("refuse association:", err)
		return
	}
	defer acct.Close()

	cost := model.Cost(1) // a 1-byte message
	if err := acct.Charge(context.Background(), cost); err != nil {
		fmt.Println("stop relaying:", err)
		return
	}
	fmt.Println("held:", acct.Used(), "global:", global.Used())
	acct.Release(cost) // once the kernel has let the message go

	err = acct.Charge(context.Background(), 2<<20)
	fmt.Println(errors.Is(err, quota.ErrTooLarge), err)
	// Output:
	// held: 1791 global: 65536
	// true quota: charge of 2097152 bytes exceeds association limit of 1048576
}
