import * as $rt from "ppp2p/runtime";
// Sites in finally: completion records for return, throw, break and continue through it.
import { checkpoint } from 'ppp2p/thread';
class finish$Frame extends $rt.Frame {
    static id = "try-finally.ts#finish";
    static layout = "43692f1e4cfb62f9";
    static fields = ["items", "sum", "x", "$a1", "$i1", "$c1", "$cv1"];
    static sites = [0, 13];
    static file = "try-finally.ts";
    static fn;
}
finish$Frame.fn = finish;
$rt.registerFrame(finish$Frame);
export async function finish(items) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(finish$Frame);
    let $pc = $f.pc;
    let $c1, $cv1;
    if ($pc !== 0) {
        items = $f.items;
        $c1 = $f.$c1;
        $cv1 = $f.$cv1;
    }
    let sum = $pc === 0 ? 0 : $f.sum;
    for (let $a1 = $pc === 0 ? items : $f.$a1, $i1 = $pc === 0 ? 0 : $f.$i1; $pc !== 0 || $i1 < $a1.length; $i1++) {
        const x = $pc === 0 ? $a1[$i1] : $f.x;
        if ($pc === 0) {
            $exit1: {
                $c1 = 0;
                $cv1 = void 0;
                try {
                    if (x < 0) {
                        $c1 = 3;
                        break $exit1;
                    }
                    if (x > 100) {
                        $c1 = 4;
                        break $exit1;
                    }
                    sum += x;
                    if (sum > 50) {
                        $cv1 = sum;
                        $c1 = 1;
                        break $exit1;
                    }
                }
                catch ($e1) {
                    $c1 = 2;
                    $cv1 = $e1;
                }
            }
        }
        if ($pc === 1) {
            $pc = 0;
        }
        else if ($t.due()) {
            $f.pc = 1;
            $f.items = items;
            $f.sum = sum;
            $f.x = x;
            $f.$a1 = $a1;
            $f.$i1 = $i1;
            $f.$c1 = $c1;
            $f.$cv1 = $cv1;
            await $t.snapshot($d);
        }
        if ($c1 === 1)
            return $cv1;
        if ($c1 === 2)
            throw $cv1;
        if ($c1 === 3)
            continue;
        if ($c1 === 4)
            break;
    }
    return sum;
}
$rt.registerExport(finish, import.meta.url, "finish");
//# sourceMappingURL=try-finally.js.map