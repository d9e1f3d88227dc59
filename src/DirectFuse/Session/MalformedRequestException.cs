namespace DirectFuse.Session;

/// <summary>A request whose bytes do not match its opcode's layout. Answered with EINVAL, never fatal.</summary>
internal sealed class MalformedRequestException(string message) : Exception(message);
