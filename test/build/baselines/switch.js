import * as $rt from "ppp2p/runtime";
// switch: sites in the discriminant, a case test and clauses; fallthrough; a clause declaration.
import { checkpoint } from 'ppp2p/thread';
class pick$Frame extends $rt.Frame {
    static id = "switch.ts#pick";
    static layout = "38c1713e2e6dcf92";
    static fields = ["v"];
    static sites = [0, 5];
    static file = "switch.ts";
    static fn;
}
pick$Frame.fn = pick;
$rt.registerFrame(pick$Frame);
class choose$Frame extends $rt.Frame {
    static id = "switch.ts#choose";
    static layout = "96526d39e7fc20cc";
    static fields = ["v", "out", "note", "$sw1", "$v1"];
    static sites = [0, 11, 15, 19, 25];
    static file = "switch.ts";
    static fn;
}
choose$Frame.fn = choose;
$rt.registerFrame(choose$Frame);
async function pick(v) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(pick$Frame);
    let $pc = $f.pc;
    if ($pc !== 0) {
        v = $f.v;
    }
    if ($pc === 1) {
        $pc = 0;
    }
    else if ($t.due()) {
        $f.pc = 1;
        $f.v = v;
        await $t.snapshot($d);
    }
    return v;
}
export async function choose(v) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(choose$Frame);
    let $pc = $f.pc;
    let $sw1, $v1, $v2;
    if ($pc !== 0) {
        v = $f.v;
        $sw1 = $f.$sw1;
        $v1 = $f.$v1;
    }
    const out = $pc === 0 ? [] : $f.out;
    {
        let note = $pc === 0 ? void 0 : $f.note;
        if ($pc === 1) {
            $pc = 0;
            $t.depth = $d + 1;
            $v1 = await $t.resumeCall();
        }
        else if ($pc === 0) {
            $t.depth = $d + 1;
            $f.pc = 1;
            $f.v = v;
            $f.out = out;
            $f.$sw1 = $sw1;
            $v1 = await $t.called(pick(v));
        }
        if ($pc <= 2) {
            if ($pc === 0 && $v1 === 1) {
                $sw1 = 0;
            }
            else {
                if ($pc === 2) {
                    $pc = 0;
                    $t.depth = $d + 1;
                    $v2 = await $t.resumeCall();
                }
                else {
                    $t.depth = $d + 1;
                    $f.pc = 2;
                    $f.v = v;
                    $f.out = out;
                    $f.$sw1 = $sw1;
                    $f.$v1 = $v1;
                    $v2 = await $t.called(pick(2));
                }
                if ($v1 === $v2) {
                    $sw1 = 1;
                }
                else {
                    $sw1 = $v1 === 3 ? 2 : 3;
                }
            }
        }
        switch ($pc === 0 ? $sw1 : $pc <= 3 ? 2 : 3) {
            case 0:
                out.push('one');
                break;
            case 1: out.push('two');
            case 2:
                if ($pc === 3) {
                    $pc = 0;
                }
                else if ($t.due()) {
                    $f.pc = 3;
                    $f.v = v;
                    $f.out = out;
                    $f.$sw1 = $sw1;
                    await $t.snapshot($d);
                }
                out.push('three');
                break;
            case 3:
                if ($pc === 0) {
                    note = `default ${v}`;
                }
                if ($pc === 4) {
                    $pc = 0;
                }
                else if ($t.due()) {
                    $f.pc = 4;
                    $f.v = v;
                    $f.out = out;
                    $f.note = note;
                    $f.$sw1 = $sw1;
                    await $t.snapshot($d);
                }
                out.push(note);
        }
    }
    return out;
}
$rt.registerExport(choose, import.meta.url, "choose");
//# sourceMappingURL=switch.js.map