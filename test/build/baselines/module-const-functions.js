import * as $rt from "ppp2p/runtime";
// Module-level `const` arrow functions and function expressions are checkpointable functions too;
// an arrow's expression body is lowered as `return <expression>`.
import { checkpoint } from 'ppp2p/thread';
class addLater$Frame extends $rt.Frame {
    static id = "module-const-functions.ts#addLater";
    static layout = "0df069a9da4dd46b";
    static fields = ["a", "b"];
    static sites = [0, 6];
    static file = "module-const-functions.ts";
    static fn;
}
$rt.registerFrame(addLater$Frame);
class twice$Frame extends $rt.Frame {
    static id = "module-const-functions.ts#twice";
    static layout = "14f943601130d832";
    static fields = ["n"];
    static sites = [0, 10];
    static file = "module-const-functions.ts";
    static fn;
}
$rt.registerFrame(twice$Frame);
class label$Frame extends $rt.Frame {
    static id = "module-const-functions.ts#label";
    static layout = "d6f7f8f72b084c06";
    static fields = ["n"];
    static sites = [0, 13];
    static file = "module-const-functions.ts";
    static fn;
}
$rt.registerFrame(label$Frame);
export const addLater = async (a, b) => {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(addLater$Frame);
    let $pc = $f.pc;
    if ($pc !== 0) {
        a = $f.a;
        b = $f.b;
    }
    if ($pc === 1) {
        $pc = 0;
    }
    else if ($t.due()) {
        $f.pc = 1;
        $f.a = a;
        $f.b = b;
        await $t.snapshot($d);
    }
    return a + b;
};
addLater$Frame.fn = addLater;
$rt.registerExport(addLater, import.meta.url, "addLater");
const twice = async (n) => {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(twice$Frame);
    let $pc = $f.pc;
    if ($pc !== 0) {
        n = $f.n;
    }
    if ($pc === 1) {
        $pc = 0;
        $t.depth = $d + 1;
        return await $t.resumeCall();
    }
    else {
        $t.depth = $d + 1;
        $f.pc = 1;
        $f.n = n;
        return await $t.called(addLater(n, n));
    }
};
twice$Frame.fn = twice;
export const label = async function (n) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(label$Frame);
    let $pc = $f.pc;
    let $v1;
    if ($pc !== 0) {
        n = $f.n;
    }
    if ($pc === 1) {
        $pc = 0;
        $t.depth = $d + 1;
        $v1 = await $t.resumeCall();
    }
    else {
        $t.depth = $d + 1;
        $f.pc = 1;
        $f.n = n;
        $v1 = await $t.called(twice(n));
    }
    return `#${$v1}`;
};
label$Frame.fn = label;
$rt.registerExport(label, import.meta.url, "label");
//# sourceMappingURL=module-const-functions.js.map