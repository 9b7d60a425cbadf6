import * as $rt from "ppp2p/runtime";
// if/else chains with sites in some branches, unbraced bodies, a site in the condition.
import { checkpoint } from 'ppp2p/thread';
class flag$Frame extends $rt.Frame {
    static id = "conditionals.ts#flag";
    static layout = "ff276408f91502b4";
    static fields = ["n"];
    static sites = [0, 5];
    static file = "conditionals.ts";
    static fn;
}
flag$Frame.fn = flag;
$rt.registerFrame(flag$Frame);
class classify$Frame extends $rt.Frame {
    static id = "conditionals.ts#classify";
    static layout = "36d56df094bfe61b";
    static fields = ["n", "out", "tag"];
    static sites = [0, 11, 14, 19];
    static file = "conditionals.ts";
    static fn;
}
classify$Frame.fn = classify;
$rt.registerFrame(classify$Frame);
async function flag(n) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(flag$Frame);
    let $pc = $f.pc;
    if ($pc !== 0) {
        n = $f.n;
    }
    if ($pc === 1) {
        $pc = 0;
    }
    else if ($t.due()) {
        $f.pc = 1;
        $f.n = n;
        await $t.snapshot($d);
    }
    return n > 2;
}
export async function classify(n) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(classify$Frame);
    let $pc = $f.pc;
    let $v1;
    if ($pc !== 0) {
        n = $f.n;
    }
    const out = $pc === 0 ? [] : $f.out;
    if ($pc <= 2) {
        if ($pc === 0 ? n === 0 : $pc <= 1) {
            if ($pc === 1) {
                $pc = 0;
            }
            else if ($t.due()) {
                $f.pc = 1;
                $f.n = n;
                $f.out = out;
                await $t.snapshot($d);
            }
        }
        else {
            if ($pc !== 0 || n === 1) {
                const tag = $pc === 0 ? 'one' : $f.tag;
                if ($pc === 2) {
                    $pc = 0;
                }
                else if ($t.due()) {
                    $f.pc = 2;
                    $f.n = n;
                    $f.out = out;
                    $f.tag = tag;
                    await $t.snapshot($d);
                }
                out.push(tag);
            }
            else {
                out.push('many');
            }
        }
    }
    if ($pc === 3) {
        $pc = 0;
        $t.depth = $d + 1;
        $v1 = await $t.resumeCall();
    }
    else {
        $t.depth = $d + 1;
        $f.pc = 3;
        $f.n = n;
        $f.out = out;
        $v1 = await $t.called(flag(n));
    }
    if ($v1) {
        out.push('big');
    }
    return out;
}
$rt.registerExport(classify, import.meta.url, "classify");
//# sourceMappingURL=conditionals.js.map