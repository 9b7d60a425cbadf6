import * as $rt from "ppp2p/runtime";
// Sites inside expressions, linearized in evaluation order.
import { checkpoint } from 'ppp2p/thread';
class give$Frame extends $rt.Frame {
    static id = "expressions.ts#give";
    static layout = "160dcd7ea89fb36f";
    static fields = ["v"];
    static sites = [0, 5];
    static file = "expressions.ts";
    static fn;
}
give$Frame.fn = give;
$rt.registerFrame(give$Frame);
class expressions$Frame extends $rt.Frame {
    static id = "expressions.ts#expressions";
    static layout = "04a130ac93803e60";
    static fields = ["o", "maybe", "x", "out", "$v1", "$v3", "$v4", "$v9", "$v11", "$v13", "$v14"];
    static sites = [0, 12, 13, 14, 15, 16, 17, 18, 19];
    static file = "expressions.ts";
    static fn;
}
expressions$Frame.fn = expressions;
$rt.registerFrame(expressions$Frame);
async function give(v) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(give$Frame);
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
export async function expressions(o, maybe) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(expressions$Frame);
    let $pc = $f.pc;
    let $v1, $v2, $v3, $v4, $v5, $v6, $v7, $v8, $v9, $v10, $v11, $v12, $v13, $v14, $v15;
    if ($pc !== 0) {
        o = $f.o;
        maybe = $f.maybe;
        $v1 = $f.$v1;
        $v3 = $f.$v3;
        $v4 = $f.$v4;
        $v9 = $f.$v9;
        $v11 = $f.$v11;
        $v13 = $f.$v13;
        $v14 = $f.$v14;
    }
    let x = $pc === 0 ? 1 : $f.x;
    const out = $pc === 0 ? [] : $f.out;
    if ($pc === 0) {
        $v1 = x;
    }
    if ($pc === 1) {
        $pc = 0;
        $t.depth = $d + 1;
        $v2 = await $t.resumeCall();
    }
    else if ($pc === 0) {
        $t.depth = $d + 1;
        $f.pc = 1;
        $f.o = o;
        $f.maybe = maybe;
        $f.x = x;
        $f.out = out;
        $f.$v1 = $v1;
        $v2 = await $t.called(give(2));
    }
    if ($pc === 0) {
        x = $v1 + $v2;
        $v3 = o.list;
        $v4 = x++;
    }
    if ($pc === 2) {
        $pc = 0;
        $t.depth = $d + 1;
        $v5 = await $t.resumeCall();
    }
    else if ($pc === 0) {
        $t.depth = $d + 1;
        $f.pc = 2;
        $f.o = o;
        $f.maybe = maybe;
        $f.x = x;
        $f.out = out;
        $f.$v3 = $v3;
        $f.$v4 = $v4;
        $v5 = await $t.called(give(3));
    }
    if ($pc === 0) {
        $v3[$v4] = $v5;
    }
    if ($pc <= 3) {
        if ($pc !== 0 || x > 1) {
            if ($pc === 3) {
                $pc = 0;
                $t.depth = $d + 1;
                $v6 = await $t.resumeCall();
            }
            else {
                $t.depth = $d + 1;
                $f.pc = 3;
                $f.o = o;
                $f.maybe = maybe;
                $f.x = x;
                $f.out = out;
                $v6 = await $t.called(give('then'));
            }
        }
        else {
            $v6 = 'else';
        }
    }
    if ($pc === 0) {
        out.push($v6);
        $v7 = x;
    }
    if ($pc <= 4) {
        if ($pc !== 0 || $v7) {
            if ($pc === 4) {
                $pc = 0;
                $t.depth = $d + 1;
                $v7 = await $t.resumeCall();
            }
            else {
                $t.depth = $d + 1;
                $f.pc = 4;
                $f.o = o;
                $f.maybe = maybe;
                $f.x = x;
                $f.out = out;
                $v7 = await $t.called(give(4));
            }
        }
    }
    if ($pc === 0) {
        out.push($v7);
    }
    if ($pc === 5) {
        $pc = 0;
        $t.depth = $d + 1;
        $v8 = await $t.resumeCall();
    }
    else if ($pc === 0) {
        $t.depth = $d + 1;
        $f.pc = 5;
        $f.o = o;
        $f.maybe = maybe;
        $f.x = x;
        $f.out = out;
        $v8 = await $t.called(give('b'));
    }
    if ($pc === 0) {
        out.push(`a ${$v8} c`);
        $v9 = x;
    }
    if ($pc === 6) {
        $pc = 0;
        $t.depth = $d + 1;
        $v10 = await $t.resumeCall();
    }
    else if ($pc === 0) {
        $t.depth = $d + 1;
        $f.pc = 6;
        $f.o = o;
        $f.maybe = maybe;
        $f.x = x;
        $f.out = out;
        $f.$v9 = $v9;
        $v10 = await $t.called(give(5));
    }
    if ($pc === 0) {
        out.push({ first: $v9, second: $v10, ...o });
        $v11 = x;
    }
    if ($pc === 7) {
        $pc = 0;
        $t.depth = $d + 1;
        $v12 = await $t.resumeCall();
    }
    else if ($pc === 0) {
        $t.depth = $d + 1;
        $f.pc = 7;
        $f.o = o;
        $f.maybe = maybe;
        $f.x = x;
        $f.out = out;
        $f.$v11 = $v11;
        $v12 = await $t.called(give(6));
    }
    if ($pc === 0) {
        out.push(Math.max($v11, $v12));
        $v13 = maybe;
    }
    if ($pc === 0 && $v13 == null) {
        $v14 = void 0;
    }
    else {
        if ($pc === 8) {
            $pc = 0;
            $t.depth = $d + 1;
            $v15 = await $t.resumeCall();
        }
        else {
            $t.depth = $d + 1;
            $f.pc = 8;
            $f.o = o;
            $f.maybe = maybe;
            $f.x = x;
            $f.out = out;
            $f.$v13 = $v13;
            $f.$v14 = $v14;
            $v15 = await $t.called(give(7));
        }
        $v14 = $v13.f($v15);
    }
    out.push($v14);
    return out;
}
$rt.registerExport(expressions, import.meta.url, "expressions");
//# sourceMappingURL=expressions.js.map