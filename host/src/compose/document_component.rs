//! The component that carries the baked configuration: a core module whose
//! one function returns the JSON text from its one data segment, made a
//! component by wit-component against `pylog:route-config/document`.
//! Generated, not compiled: `pylog compose` needs no toolchain.

use anyhow::{Context, Result};
use wasm_encoder::{
    CodeSection, ConstExpr, DataSection, ExportKind, ExportSection, Function, FunctionSection, Instruction,
    MemorySection, MemoryType, Module, TypeSection, ValType,
};
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::Resolve;

/// The interface and world the configuration component imports.
const DOCUMENT_WIT: &str = include_str!("../../../compose/route-config/wit/document.wit");
const EXPORT: &str = "pylog:route-config/document@0.2.0#handlers-json";

/// A component exporting `document.handlers-json` answering `json`.
pub fn build(json: &str) -> Result<Vec<u8>> {
    let mut resolve = Resolve::default();
    let package = resolve.push_str("document.wit", DOCUMENT_WIT)?;
    let world = resolve.select_world(&[package], Some("document-component"))?;
    let mut module = core_module(json.as_bytes())?;
    wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)?;
    ComponentEncoder::default().module(&module)?.validate(true).encode().context("encoding the document component")
}

/// Memory holds the canonical ABI's return area at 0 (the string's pointer
/// and length, little-endian) and the text from 8; the function returns 0.
fn core_module(text: &[u8]) -> Result<Vec<u8>> {
    const TEXT_AT: u32 = 8;
    let len = u32::try_from(text.len()).context("the configuration is larger than 4 GiB")?;
    let mut data = Vec::with_capacity(text.len() + TEXT_AT as usize);
    data.extend_from_slice(&TEXT_AT.to_le_bytes());
    data.extend_from_slice(&len.to_le_bytes());
    data.extend_from_slice(text);

    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I32]);
    let mut functions = FunctionSection::new();
    functions.function(0);
    let mut memories = MemorySection::new();
    let pages = (data.len() as u64).div_ceil(65536).max(1);
    memories.memory(MemoryType {
        minimum: pages,
        maximum: Some(pages),
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut exports = ExportSection::new();
    exports.export(EXPORT, ExportKind::Func, 0);
    exports.export("memory", ExportKind::Memory, 0);
    let mut code = CodeSection::new();
    let mut body = Function::new([]);
    body.instruction(&Instruction::I32Const(0));
    body.instruction(&Instruction::End);
    code.function(&body);
    let mut segments = DataSection::new();
    segments.active(0, &ConstExpr::i32_const(0), data);

    let mut module = Module::new();
    module.section(&types).section(&functions).section(&memories).section(&exports).section(&code).section(&segments);
    Ok(module.finish())
}
