import * as $rt from "ppp2p/runtime";
// while, do-while, sites in a for header (desugared), labeled break and continue.
import { checkpoint } from 'ppp2p/thread';
class next$Frame extends $rt.Frame {
    static id = "loops.ts#next";
    static layout = "209e03a1ceaf33f8";
    static fields = ["i"];
    static sites = [0, 5];
    static file = "loops.ts";
    static fn;
}
next$Frame.fn = next;
$rt.registerFrame(next$Frame);
class loops$Frame extends $rt.Frame {
    static id = "loops.ts#loops";
    static layout = "906c3fa1c7606fbb";
    static fields = ["n", "total", "i", "i$1", "j", "$v1"];
    static sites = [0, 12, 16, 18, 25];
    static file = "loops.ts";
    static fn;
}
loops$Frame.fn = loops;
$rt.registerFrame(loops$Frame);
async function next(i) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(next$Frame);
    let $pc = $f.pc;
    if ($pc !== 0) {
        i = $f.i;
    }
    if ($pc === 1) {
        $pc = 0;
    }
    else if ($t.due()) {
        $f.pc = 1;
        $f.i = i;
        await $t.snapshot($d);
    }
    return i + 1;
}
export async function loops(n) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(loops$Frame);
    let $pc = $f.pc;
    let $v1, $v2;
    if ($pc !== 0) {
        n = $f.n;
        $v1 = $f.$v1;
    }
    let total = $pc === 0 ? 0 : $f.total;
    if ($pc <= 1) {
        while ($pc !== 0 || total < n) {
            if ($pc === 1) {
                $pc = 0;
            }
            else if ($t.due()) {
                $f.pc = 1;
                $f.n = n;
                $f.total = total;
                await $t.snapshot($d);
            }
            total++;
        }
    }
    if ($pc <= 2) {
        do {
            if ($pc === 0) {
                $v1 = total;
            }
            if ($pc === 2) {
                $pc = 0;
                $t.depth = $d + 1;
                $v2 = await $t.resumeCall();
            }
            else {
                $t.depth = $d + 1;
                $f.pc = 2;
                $f.n = n;
                $f.total = total;
                $f.$v1 = $v1;
                $v2 = await $t.called(next(total));
            }
            total = $v1 + $v2;
        } while (total < 2 * n);
    }
    if ($pc <= 3) {
        let i = $pc === 0 ? 0 : $f.i;
        for (;;) {
            if ($pc === 0) {
                if (!(i < n))
                    break;
                $next1: {
                    if (i === 1)
                        break $next1;
                    total += i;
                }
            }
            if ($pc === 3) {
                $pc = 0;
                $t.depth = $d + 1;
                i = await $t.resumeCall();
            }
            else {
                $t.depth = $d + 1;
                $f.pc = 3;
                $f.n = n;
                $f.total = total;
                $f.i = i;
                i = await $t.called(next(i));
            }
        }
    }
    outer: for (let i$1 = $pc === 0 ? 0 : $f.i$1; $pc !== 0 || i$1 < n; i$1++) {
        for (let j = $pc === 0 ? 0 : $f.j; $pc !== 0 || j < n; j++) {
            if ($pc === 0) {
                if (j > i$1)
                    continue outer;
            }
            if ($pc === 4) {
                $pc = 0;
            }
            else if ($t.due()) {
                $f.pc = 4;
                $f.n = n;
                $f.total = total;
                $f.i$1 = i$1;
                $f.j = j;
                await $t.snapshot($d);
            }
            if (i$1 + j > n)
                break outer;
        }
    }
    return total;
}
$rt.registerExport(loops, import.meta.url, "loops");
//# sourceMappingURL=loops.js.map